"""`--data_recipe RECIPE.yaml`: the recipe parses and every source's root, JSON file and image folder
exists (`data.recipe.load_recipe` checks those), and the images of each JSON source are there
(sampled, with the path rule the mixture applies: `data.mixture.resolve_image`).

Task sources are converted from their release on first use; the converter checks their images.
"""
from __future__ import annotations

from ..data.env_expand import RecipeError
from ..data.mixture import resolve_image
from ..data.recipe import load_recipe
from .data_files import check_record_file
from .locations import input_file_problem
from .report import PreflightReport


def check_data_recipe(report: PreflightReport, flag: str, path) -> None:
    problem = input_file_problem(path)
    if problem:
        report.add(flag, None, problem)
        return
    try:
        recipe = load_recipe(path)
    except (RecipeError, FileNotFoundError, ValueError) as err:
        report.add(flag, None, str(err))
        return
    for source in recipe.sources:
        if source.kind != "json":
            continue

        def resolve(image, record, index, spec=source):
            return resolve_image(spec, image, index, record)

        where = f"{flag} {path}: source {source.name}:"
        check_record_file(report, f"{where} json", source.path, f"{where} image_folder", source.image_folder,
                          resolve, data_label=f"its json {source.path}")
