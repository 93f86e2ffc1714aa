"""Pre-flight of the diagnostics, `socialfusion probe` and `socialfusion conflict`.

`socialfusion probe`: every encoder's weights, every task's train/test files and images, and the
output and cache folders, before any encoder is built.

- `open_clip:ARCH@WEIGHTS`: resolves locally, as `--vision_tower` (`model_folders.vision_tower_problem`);
- `hf_clip:` / `hf_siglip:` / `hf_vlm:` FOLDER: the folder's layout as the probe reads it (config.json
  names a tower, or a VLM checkpoint with one, of the kind asked for; the tower's family and key prefix,
  the weight index and the shards that hold the tower, the tower's blocks against the config,
  preprocessor_config.json against the tower's image size), then each of those shards for being
  complete: headers and small JSON files only; a tower without a class token (SigLIP) with
  `--pooling cls` or `cls_mean` is refused, since its token 0 is the patch mean;
- per task: the files `--data-root` / `--train` / `--test` / `--image-folder` name
  (`analysis.probe_data.task_files`), each a JSON list, and a sample of the images of the records
  the probe reads (the task's records with a probe target), resolved as the probe resolves them;
- `--out` and `--cache-dir`: folders that are, or can be created, writable.

`socialfusion conflict`: every checkpoint (and its base and tower), every task's records and
images, and the output folder, before the first model is rebuilt.

- each `--model-path`: what `DiagnosticsHost.load_trainable` reads for its kind (`checkpoint_folders.py`);
  `--vision-tower` when given (and required by a plain language model);
- per task: the file `--data-root` / `--data` names, a JSON list, and a sample of its records'
  images resolved as the diagnostic resolves them (relative to the task's image folder, never
  outside it; `analysis.conflict.task_batches.task_locations`);
- `--out`: a folder that is, or can be created, writable.
"""
from __future__ import annotations

from .. import registry
from ..analysis.conflict.task_batches import task_locations
from ..analysis.encoders import PROBE_ENCODERS, EncoderSpecError, HfTowerKind, encoder_prefix
from ..analysis.probe_data import ProbeDataError, task_files
from ..host_interface import DiagnosticsHost
from .checkpoint_folders import check_trainable_checkpoint
from .data_files import check_record_file, inside_folder
from .locations import output_folder_problem
from .model_folders import vision_tower_problem
from .report import PreflightReport
from .weight_integrity import weight_file_problem

CLASS_TOKEN_POOLINGS = ("cls", "cls_mean")


def check_probe_arguments(args, overrides) -> None:
    """`overrides`: train/test/image_folder -> task -> path, as probe_cmd parsed them."""
    report = PreflightReport()
    for encoder in args.encoders:
        _check_encoder(report, encoder, getattr(args, "pooling", None) or ())
    for task_name in args.tasks:
        _check_probe_task(report, task_name, args.data_root, overrides)
    report.add("--out", None, output_folder_problem(args.out))
    report.add("--cache-dir", None, output_folder_problem(args.cache_dir))
    report.raise_if_any()


def _check_encoder(report: PreflightReport, encoder: str, poolings) -> None:
    try:
        prefix = encoder_prefix(encoder)
    except ValueError as err:
        report.add("--encoders", encoder, str(err))
        return
    kind = PROBE_ENCODERS.get(prefix)
    if isinstance(kind, HfTowerKind):
        try:
            layout = kind.layout(encoder, file_check=weight_file_problem)
            kind.describe(encoder)  # reads preprocessor_config.json against the tower's image size
        except EncoderSpecError as err:
            report.add("--encoders", encoder, str(err))
            return
        problems = [problem for problem in map(weight_file_problem, layout.weight_files) if problem]
        report.add_each("--encoders", encoder, problems)
        asked = [pooling for pooling in poolings if pooling in CLASS_TOKEN_POOLINGS]
        if not problems and not layout.family.class_token and asked:
            report.add("--encoders", encoder, f"a {layout.family.label} tower has no class token, so --pooling "
                       f"{' '.join(asked)} has nothing to read: probe it with --pooling mean (in a run of its own "
                       "if other encoders need cls)")
    elif prefix == "open_clip":
        report.add("--encoders", encoder, vision_tower_problem(encoder))


def _check_probe_task(report: PreflightReport, task_name: str, data_root, overrides) -> None:
    try:
        task = registry.TASKS.get(task_name)
    except KeyError as err:
        report.add("--tasks", task_name, str(err.args[0]) if err.args else "unknown task")
        return
    try:
        files = task_files(task_name, data_root, overrides)
    except ProbeDataError as err:
        report.add("--tasks", task_name, str(err))
        return
    folder_flag = _task_flag("--image-folder", "image folder", task_name, overrides.get("image_folder", {}))

    def keep(record) -> bool:
        meta = record.get("meta") if isinstance(record, dict) else None
        if not (isinstance(meta, dict) and meta.get("task") == task_name and "image" in record):
            return False
        try:
            return task.probe_target(meta) is not None
        except (KeyError, TypeError, ValueError):
            return True  # a malformed record: the probe names it; its image is checked here meanwhile

    for kind, path in (("train", files.train), ("test", files.test)):
        check_record_file(report, _task_flag(f"--{kind}", kind, task_name, overrides.get(kind, {})), path,
                          folder_flag, files.image_folder, inside_folder(path, files.image_folder), keep=keep)


def _task_flag(flag: str, what: str, task_name: str, given) -> str:
    """The flag a task's path came from: `--train gesture=` (then the path) when `given` names the
    task, else `--data-root (gesture train)`."""
    return f"{flag} {task_name}=" if task_name in given else f"--data-root ({task_name} {what})"


def check_conflict_arguments(args, data, image_folders, host: DiagnosticsHost) -> None:
    """`data`, `image_folders`: task -> path, as conflict_cmd parsed --data and --image-folder."""
    report = PreflightReport()
    if args.vision_tower:
        report.add("--vision-tower", args.vision_tower, vision_tower_problem(args.vision_tower))
    for model_path in args.model_path:
        check_trainable_checkpoint(report, host.checkpoint_files, model_path, args.model_base, args.vision_tower)
    for name in args.tasks:
        _check_conflict_task(report, name, args.data_root, data, image_folders)
    report.add("--out", None, output_folder_problem(args.out))
    report.raise_if_any()


def _check_conflict_task(report: PreflightReport, name: str, data_root, data, image_folders) -> None:
    try:
        file, folder = task_locations(name, data_root, data, image_folders)
    except ValueError as err:
        report.add("--tasks", name, str(err))
        return
    data_flag = _task_flag("--data", "train", name, data)
    folder_flag = _task_flag("--image-folder", "image folder", name, image_folders)

    def keep(record) -> bool:
        meta = record.get("meta") if isinstance(record, dict) else None
        return isinstance(record, dict) and (not isinstance(meta, dict) or meta.get("task") in (None, name))

    check_record_file(report, data_flag, file, folder_flag, folder, inside_folder(file, folder), keep=keep)
