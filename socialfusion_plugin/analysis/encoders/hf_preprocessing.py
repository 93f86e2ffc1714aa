"""A tower's image preprocessing, from the folder's preprocessor_config.json when it has one, else
the tower family's default at the config's image_size; always with a sentence saying which.

The numbers (size, crop, resample, rescale, mean/std) are read from the file and put into a
CLIPImageProcessor built locally, instead of instantiating the class the file names: a VLM's
processor class (LlavaOnevisionImageProcessor, PaliGemma's) may be newer than the installed
transformers, and the probe wants one view at the tower's resolution, not a VLM's tiles. For a
CLIP or SigLIP processor file the result is the same pixels as that class gives.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

from ...json_records import read_json
from .base import EncoderSpecError
from .hf_tower_layout import PREPROCESSOR, TowerLayout

RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def tower_image_processor(layout: TowerLayout, config) -> Tuple[Any, str]:
    """(processor with `.preprocess(images, return_tensors='pt')`, a sentence describing it)."""
    path = layout.folder / PREPROCESSOR
    family = layout.family
    if path.is_file():
        values = read_json(path, "image preprocessor config", dict, "a JSON object", EncoderSpecError)
        origin = f"{PREPROCESSOR} ({values.get('image_processor_type', 'no image_processor_type')})"
        if values.get("image_grid_pinpoints"):
            origin += ", one view at the base resolution (the VLM's high-resolution tiles are not made)"
    else:
        values = {}
        origin = f"{family.label} default, no {PREPROCESSOR}"
    settings = _settings(values, layout, config, path)
    height, width = settings["output"]
    if (height, width) != (config.image_size, config.image_size):
        raise EncoderSpecError(f"{path}: makes {height}x{width} images, the tower in {layout.folder} takes "
                               f"{config.image_size}x{config.image_size}")
    from transformers import CLIPImageProcessor

    processor = CLIPImageProcessor(
        do_resize=settings["do_resize"], size=settings["size"], resample=settings["resample"],
        do_center_crop=settings["do_center_crop"], crop_size=settings["crop_size"], do_rescale=settings["do_rescale"],
        rescale_factor=settings["rescale_factor"], do_normalize=settings["do_normalize"],
        image_mean=settings["mean"], image_std=settings["std"], do_convert_rgb=True)
    return processor, f"{origin}: {_describe(settings)}"


def _settings(values: Dict[str, Any], layout: TowerLayout, config, path) -> Dict[str, Any]:
    family = layout.family
    square = not family.default_center_crop  # how a bare number or a missing size is meant
    size = _size(values.get("size", config.image_size), square, path, "size")
    crop = _size(values.get("crop_size", config.image_size), True, path, "crop_size")
    do_center_crop = bool(values.get("do_center_crop", "crop_size" in values or (not values and not square)))
    do_resize = bool(values.get("do_resize", True))
    if do_center_crop:
        output = (crop["height"], crop["width"])
    elif do_resize and "height" in size:
        output = (size["height"], size["width"])
    else:
        raise EncoderSpecError(f"{path}: images of any size (resize by {size} and no center crop); the tower "
                               "needs one size")
    mean = values.get("image_mean", family.default_mean)
    std = values.get("image_std", family.default_std)
    return {"do_resize": do_resize, "size": size, "resample": int(values.get("resample", 3)),
            "do_center_crop": do_center_crop, "crop_size": crop, "do_rescale": bool(values.get("do_rescale", True)),
            "rescale_factor": float(values.get("rescale_factor", 1 / 255)),
            "do_normalize": bool(values.get("do_normalize", True)),
            "mean": [float(v) for v in mean], "std": [float(v) for v in std], "output": output}


def _size(value, square: bool, path, key: str) -> Dict[str, int]:
    if isinstance(value, int):
        return {"height": value, "width": value} if square else {"shortest_edge": value}
    if isinstance(value, dict) and "height" in value and "width" in value:
        return {"height": int(value["height"]), "width": int(value["width"])}
    if isinstance(value, dict) and "shortest_edge" in value:
        return {"shortest_edge": int(value["shortest_edge"])}
    raise EncoderSpecError(f"{path}: {key} {value!r} is not a number, {{height, width}} or {{shortest_edge}}")


def _describe(settings: Dict[str, Any]) -> str:
    size = settings["size"]
    resize = (f"resize the shortest side to {size['shortest_edge']}" if "shortest_edge" in size
              else f"resize to {size['height']}x{size['width']}")
    parts = [resize if settings["do_resize"] else "no resize"]
    if settings["do_center_crop"]:
        parts.append(f"center crop {settings['crop_size']['height']}x{settings['crop_size']['width']}")
    parts.append(RESAMPLE_NAMES.get(settings["resample"], f"resample {settings['resample']}"))
    if settings["do_normalize"]:
        parts.append(f"mean {tuple(round(v, 4) for v in settings['mean'])} std {tuple(round(v, 4) for v in settings['std'])}")
    return ", ".join(parts)
