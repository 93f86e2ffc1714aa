"""`socialfusion probe`: every encoder's weights, every task's train/test files and images, and the
output and cache folders, before any encoder is built.

- `open_clip:ARCH@WEIGHTS`: resolves locally, as `--vision_tower` (`model_folders.vision_tower_problem`);
- `hf_clip:` / `hf_siglip:` / `hf_vlm:` FOLDER: the folder's layout as the probe reads it (config.json
  names a tower, or a VLM checkpoint with one, of the kind asked for; the tower's family and key prefix,
  the weight index and the shards that hold the tower, the tower's blocks against the config,
  preprocessor_config.json against the tower's image size), then each of those shards for being
  complete: headers and small JSON files only (`hf_probe_tower_check`); a tower without a class token
  (SigLIP) with `--pooling cls` or `cls_mean` is refused, since its token 0 is the patch mean;
- per task: the files `--data-root` / `--train` / `--test` / `--image-folder` name
  (`analysis.probe_data.task_files`), each a JSON list, and a sample of the images of the records
  the probe reads (the task's records with a probe target), resolved as the probe resolves them;
- `--out` and `--cache-dir`: folders that are, or can be created, writable.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from .. import registry
from ..analysis.encoders import PROBE_ENCODERS, EncoderSpecError, HfTowerKind, encoder_prefix
from ..analysis.probe_data import ProbeDataError, task_files
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
        _check_task(report, task_name, args.data_root, overrides)
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
        problems, layout = hf_probe_tower_check(kind, encoder)
        report.add_each("--encoders", encoder, problems)
        asked = [pooling for pooling in poolings if pooling in CLASS_TOKEN_POOLINGS]
        if layout is not None and not layout.family.class_token and asked:
            report.add("--encoders", encoder, f"a {layout.family.label} tower has no class token, so --pooling "
                       f"{' '.join(asked)} has nothing to read: probe it with --pooling mean (in a run of its own "
                       "if other encoders need cls)")
    elif prefix == "open_clip":
        report.add("--encoders", encoder, vision_tower_problem(encoder))


def hf_probe_tower_check(kind, name: str) -> Tuple[List[str], Optional[object]]:
    """(problems, the tower's layout or None) of a probe encoder of a Hugging Face tower kind
    (`analysis.encoders.HfTowerKind`); each problem one line naming the folder or file."""
    try:
        layout = kind.layout(name, file_check=weight_file_problem)
        kind.describe(name)  # reads preprocessor_config.json against the tower's image size
    except EncoderSpecError as err:
        return [str(err)], None
    problems = [problem for problem in map(weight_file_problem, layout.weight_files) if problem]
    return problems, (None if problems else layout)


def _check_task(report: PreflightReport, task_name: str, data_root, overrides) -> None:
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
    folder_flag = _flag("image_folder", task_name, overrides)

    def keep(record) -> bool:
        meta = record.get("meta") if isinstance(record, dict) else None
        if not (isinstance(meta, dict) and meta.get("task") == task_name and "image" in record):
            return False
        try:
            return task.probe_target(meta) is not None
        except (KeyError, TypeError, ValueError):
            return True  # a malformed record: the probe names it; its image is checked here meanwhile

    for kind, path in (("train", files.train), ("test", files.test)):
        check_record_file(report, _flag(kind, task_name, overrides), path, folder_flag, files.image_folder,
                          inside_folder(path, files.image_folder), keep=keep)


def _flag(kind: str, task_name: str, overrides) -> str:
    """The flag a path came from: `--train gesture=` (then the path) or `--data-root (gesture train)`."""
    if task_name in overrides.get(kind, {}):
        return f"--{kind.replace('_', '-')} {task_name}="
    return f"--data-root ({task_name} {kind.replace('_', ' ')})"
