"""Helpers shared by the evaluation tests (a module name unique in the repository)."""

COLORS = ("red", "green", "blue", "yellow")


def color_images(trained):
    from PIL import Image

    return [Image.open(trained.image_folder / r["image"]).convert("RGB") for r in trained.records]


def color_questions(trained):
    return [r["conversations"][0]["value"] for r in trained.records]
