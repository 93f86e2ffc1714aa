"""`socialfusion train` / `python -m socialfusion_plugin.train`: LLaVA's own arguments, checked
before the hooks are installed and LLaVA's train() loads anything.

Images of `--data_path` are joined the way LLaVA joins them (`os.path.join(image_folder, image)`);
those of a `--data_recipe`'s JSON sources with the mixture's rule (`data.mixture.resolve_image`), while
task sources are converted on first use, where the converter checks their images. `--deepspeed` on
a CPU-only machine stops with the doctor's message instead of an NCCL traceback after the model has
loaded; an `--output_dir` holding `checkpoint-N` folders (train() then resumes from the last) needs
that checkpoint's trained weights complete and finite. LLaVA's parser still owns the arguments: an
unknown or malformed one is its error, later.
"""
from __future__ import annotations

import os
from typing import List, Optional

from ..data.mixture import resolve_image
from ..data.recipe import RecipeError, load_recipe
from ..host_interface import TrainingHost
from .checkpoint_folders import check_resume_checkpoint
from .data_files import check_record_file
from .locations import input_file_problem, output_folder_problem
from .model_folders import model_folder_problems, vision_tower_problem
from .report import PreflightReport
from .weight_integrity import non_finite_tensor_problem, weight_file_problem
from socialfusion_plugin.errors import UserInputError


def flag_value(argv: List[str], flag: str) -> Optional[str]:
    """The value of `flag VALUE` or `flag=VALUE` (the last one given, as argparse takes it)."""
    value = None
    for index, item in enumerate(argv):
        if item == flag and index + 1 < len(argv):
            value = argv[index + 1]
        elif item.startswith(flag + "="):
            value = item.split("=", 1)[1]
    return value


def llava_image_path(image_folder: Optional[str]):
    """LLaVA's rule: os.path.join(--image_folder, image); an absolute image path stands alone."""
    def resolve(image: str, record, index: int) -> str:
        if os.path.isabs(image):
            return image
        if image_folder is None:
            raise UserInputError(f"record {record.get('id', index)!r} has the relative image path {image!r} and no "
                             "--image_folder is given")
        return os.path.join(os.path.expanduser(image_folder), image)

    return resolve


def check_train_arguments(argv: List[str], host: TrainingHost) -> None:
    """Raise PreflightError listing every missing path (and what `host`'s launcher refuses); return
    quietly when all are there."""
    argv = list(argv)
    if any(item in ("-h", "--help") for item in argv):
        return
    report = PreflightReport()
    for line in host.train_argument_problems(argv):
        report.add_line(line)
    model = flag_value(argv, "--model_name_or_path")
    if model is not None:
        report.add_each("--model_name_or_path", None, model_folder_problems(model))
    tower = flag_value(argv, "--vision_tower")
    if tower:
        report.add("--vision_tower", tower, vision_tower_problem(tower))
    for flag in ("--pretrain_mm_mlp_adapter", "--deepspeed"):
        value = flag_value(argv, flag)
        if value and not (flag == "--deepspeed" and value.lstrip().startswith("{")):  # inline JSON config
            report.add(flag, None, input_file_problem(value))
    adapter = flag_value(argv, "--pretrain_mm_mlp_adapter")
    if adapter and os.path.isfile(adapter):
        # the stage-1 connector the run starts from: complete, and no NaN or infinity (a diverged stage 1)
        report.add("--pretrain_mm_mlp_adapter", None,
                   weight_file_problem(adapter) or non_finite_tensor_problem(adapter))
    if any(item == "--deepspeed" or item.startswith("--deepspeed=") for item in argv):
        from ..doctor.accelerator_check import deepspeed_cannot_run

        blocker = host.deepspeed_cpu_blocker()  # None on GPU machines, without importing DeepSpeed
        if blocker:
            report.add_line(deepspeed_cannot_run(blocker))
    _check_data(report, argv)
    output_dir = flag_value(argv, "--output_dir")
    if output_dir:
        report.add("--output_dir", None, output_folder_problem(output_dir))
        resumed = host.resume_checkpoint(output_dir)
        if resumed is not None:
            check_resume_checkpoint(report, "--output_dir", resumed, host.checkpoint_files)
    report.raise_if_any()


def _check_data(report: PreflightReport, argv: List[str]) -> None:
    data_path, recipe = flag_value(argv, "--data_path"), flag_value(argv, "--data_recipe")
    if data_path and recipe:
        report.add("--data_path", data_path, f"give either --data_path or --data_recipe {recipe}, not both")
    elif recipe:
        check_data_recipe(report, "--data_recipe", recipe)
    elif data_path:
        image_folder = flag_value(argv, "--image_folder")
        check_record_file(report, "--data_path", data_path, "--image_folder", image_folder,
                          llava_image_path(image_folder))
    else:
        report.add("--data_path", None, "give --data_path FILE.json (with --image_folder) or --data_recipe RECIPE.yaml")


def check_data_recipe(report: PreflightReport, flag: str, path) -> None:
    if report.add(flag, None, input_file_problem(path)):
        return
    try:
        recipe = load_recipe(path)
    except (RecipeError, FileNotFoundError, ValueError) as err:
        report.add(flag, None, str(err))
        return
    for source in recipe.sources:
        if source.kind != "json":
            continue
        where = f"{flag} {path}: source {source.name}:"
        check_record_file(report, f"{where} json", source.path, f"{where} image_folder", source.image_folder,
                          lambda image, record, index, spec=source: resolve_image(spec, image, index, record),
                          data_label=f"its json {source.path}")
