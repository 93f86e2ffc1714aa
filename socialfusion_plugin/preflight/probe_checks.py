"""`socialfusion probe`: every encoder's weights, every task's train/test files and images, and the
output and cache folders, before any encoder is built.

- `open_clip:ARCH@WEIGHTS`: resolves locally, as `--vision_tower` (`towers.py`);
- `hf_clip:` / `hf_siglip:` / `hf_vlm:` FOLDER: config.json names a tower (or a VLM checkpoint with
  one) of the kind asked for, the tower's weights are in the shards that are there and complete, with
  every block the config has (`towers.hf_probe_tower_check`); a tower without a class token (SigLIP)
  with `--pooling cls` or `cls_mean` is refused, since its token 0 is the patch mean;
- per task: the files `--data-root` / `--train` / `--test` / `--image-folder` name
  (`analysis.probe_data.task_files`), each a JSON list, and a sample of the images of the records
  the probe reads (the task's records with a probe target), resolved as the probe resolves them;
- `--out` and `--cache-dir`: folders that are, or can be created, writable.
"""
from __future__ import annotations

from pathlib import Path

from .. import registry
from ..analysis.encoders import PROBE_ENCODERS, HfTowerKind, encoder_prefix
from ..analysis.probe_data import ProbeDataError, task_files
from ..tasks.paths import safe_relative_path
from .data_files import check_record_file
from .locations import output_folder_problem
from .report import PreflightReport
from .towers import hf_probe_tower_check, vision_tower_problem

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
        for problem in problems:
            report.add("--encoders", encoder, problem)
        asked = [pooling for pooling in poolings if pooling in CLASS_TOKEN_POOLINGS]
        if layout is not None and not layout.family.class_token and asked:
            report.add("--encoders", encoder, f"a {layout.family.label} tower has no class token, so --pooling "
                       f"{' '.join(asked)} has nothing to read: probe it with --pooling mean (in a run of its own "
                       "if other encoders need cls)")
    elif prefix == "open_clip":
        report.add("--encoders", encoder, vision_tower_problem(encoder))


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

    def resolver(path: Path):
        def resolve(image, record, index):
            if Path(image).is_absolute():  # convert --absolute-paths
                return image
            where = f"{path}: record {record.get('id', index)}"
            return str(Path(files.image_folder) / safe_relative_path(files.image_folder, image, where))

        return resolve

    for kind, path in (("train", files.train), ("test", files.test)):
        check_record_file(report, _flag(kind, task_name, overrides), path, folder_flag, files.image_folder,
                          resolver(path), keep=keep)


def _flag(kind: str, task_name: str, overrides) -> str:
    """The flag a path came from: `--train gesture=` (then the path) or `--data-root (gesture train)`."""
    if task_name in overrides.get(kind, {}):
        return f"--{kind.replace('_', '-')} {task_name}="
    return f"--data-root ({task_name} {kind.replace('_', ' ')})"
