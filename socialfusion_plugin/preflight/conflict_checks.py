"""`socialfusion conflict`: every checkpoint (and its base and tower), every task's records and
images, and the output folder, before the first model is rebuilt.

- each `--model-path`: what `DiagnosticsHost.load_trainable` reads for its kind (`checkpoint_folders.py`);
  `--vision-tower` when given (and required by a plain language model);
- per task: the file `--data-root` / `--data` names, a JSON list, and a sample of its records'
  images resolved as the diagnostic resolves them (relative to the task's image folder, never
  outside it; `analysis.conflict.task_batches.task_locations`);
- `--out`: a folder that is, or can be created, writable.
"""
from __future__ import annotations

from ..analysis.conflict.task_batches import task_locations
from ..host_interface import DiagnosticsHost
from .checkpoint_folders import check_trainable_checkpoint
from .data_files import check_record_file, inside_folder
from .locations import output_folder_problem
from .model_folders import vision_tower_problem
from .report import PreflightReport


def check_conflict_arguments(args, data, image_folders, host: DiagnosticsHost) -> None:
    """`data`, `image_folders`: task -> path, as conflict_cmd parsed --data and --image-folder."""
    report = PreflightReport()
    if args.vision_tower:
        report.add("--vision-tower", args.vision_tower, vision_tower_problem(args.vision_tower))
    for model_path in args.model_path:
        check_trainable_checkpoint(report, host.checkpoint_files, "--model-path", model_path, "--model-base",
                                   args.model_base, "--vision-tower", args.vision_tower)
    for name in args.tasks:
        _check_task(report, name, args.data_root, data, image_folders)
    report.add("--out", None, output_folder_problem(args.out))
    report.raise_if_any()


def _check_task(report: PreflightReport, name: str, data_root, data, image_folders) -> None:
    try:
        file, folder = task_locations(name, data_root, data, image_folders)
    except ValueError as err:
        report.add("--tasks", name, str(err))
        return
    data_flag = f"--data {name}=" if name in data else f"--data-root ({name} train)"
    folder_flag = f"--image-folder {name}=" if name in image_folders else f"--data-root ({name} image folder)"

    def keep(record) -> bool:
        meta = record.get("meta") if isinstance(record, dict) else None
        return isinstance(record, dict) and (not isinstance(meta, dict) or meta.get("task") in (None, name))

    check_record_file(report, data_flag, file, folder_flag, folder, inside_folder(file, folder), keep=keep)
