"""What a checkpoint folder must hold for the way a command loads it, decided from its files as the
loaders decide (never from the folder name):

- `check_loaded_checkpoint`: LLaVA's loader through `InferenceHost.load` (eval, merge):
  LoRA adapters + non_lora_trainables.bin on --model-base, a connector-only folder (mm_projector.bin)
  on --model-base, or a full/merged checkpoint or plain language model with its own weights;
- `check_trainable_checkpoint`: `DiagnosticsHost.load_trainable` (conflict): LoRA (base from --model-base
  or adapter_config.json), full (a fresh LoRA), or a plain language model plus --vision-tower.
In every case the tower named by config.json's `mm_vision_tower` must be resolvable here.

The weight files checked are the ones the loader reads: `non_lora_trainables.safetensors` (or
`mm_projector.safetensors`) where it lies beside the `.bin`, since the plugin's loaders read that
twin first; `adapter_model.safetensors` before `adapter_model.bin`, as peft does. The trained
weights (connector, LoRA) are also read whole here and refused when a tensor holds NaN or infinity.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from ..host_interface import CheckpointFiles
from .weight_integrity import non_finite_tensor_problem, weight_file_problem
from .locations import input_folder_problem
from .model_folders import model_folder_problems, read_json_object, vision_tower_problem
from .report import PreflightReport

REBUILT = "the tower is rebuilt from this value: make its weights available on this machine"
# the flags of every command that loads a checkpoint (eval, merge, conflict)
PATH_FLAG, BASE_FLAG, TOWER_FLAG = "--model-path", "--model-base", "--vision-tower"


def check_loaded_checkpoint(report: PreflightReport, files: CheckpointFiles, model_path, model_base: Optional[str],
                            lora_only: bool = False) -> None:
    """eval (`lora_only` False) and merge (True, a LoRA checkpoint of a LLaVA model); `files`: the host's
    checkpoint file names (LLaVA: adapter_config.json, non_lora_trainables.bin, ...)."""
    if model_base is not None:
        report.add_each(BASE_FLAG, None, model_folder_problems(model_base))
    folder = _folder(report, model_path)
    if folder is None:
        return
    config = _config(report, folder)
    has_adapters = (folder / files.adapter_config).is_file()
    if config is None and not has_adapters:
        report.add(PATH_FLAG, None, f"no config.json in {folder}: not a LLaVA checkpoint or model folder")
        return
    tower = (config or {}).get("mm_vision_tower")
    if lora_only and not (has_adapters and tower):
        report.add(PATH_FLAG, model_path, "is not a LoRA checkpoint of a LLaVA model (needs adapter_config.json and "
                   "a config.json with mm_vision_tower); nothing to merge")
        return
    if has_adapters:
        if model_base is None:
            report.add(PATH_FLAG, model_path, f"holds LoRA adapters: pass the base language model with {BASE_FLAG}")
        _check_adapters(report, PATH_FLAG, folder, files)
        if tower and not (folder / files.connector).is_file():
            report.add(PATH_FLAG, model_path, f"has LoRA adapters but no {files.connector} (the trained connector); "
                       "checkpoints written by `socialfusion train` always have it, stock LLaVA writes it only at "
                       "the end of training")
        _check_trained(report, PATH_FLAG, folder / files.connector)
    elif model_base is not None and (folder / files.projector).is_file():
        _check_trained(report, PATH_FLAG, folder / files.projector)
    else:  # full / merged checkpoint or plain language model
        report.add_each(PATH_FLAG, None, model_folder_problems(folder))
    if tower:
        _check_checkpoint_tower(report, model_path, tower)


def check_trainable_checkpoint(report: PreflightReport, files: CheckpointFiles, model_path, model_base: Optional[str],
                               vision_tower: Optional[str]) -> None:
    """conflict: one --model-path value."""
    folder = _folder(report, model_path)
    if folder is None:
        return
    config = _config(report, folder)
    if config is None:
        report.add(PATH_FLAG, None, f"no config.json in {folder} (expected a LLaVA checkpoint or a language model "
                   "folder)")
        return
    tower = config.get("mm_vision_tower")
    if (folder / files.adapter_config).is_file():
        _check_trainable_lora(report, model_path, folder, model_base, tower, files)
    else:
        report.add_each(PATH_FLAG, None, model_folder_problems(folder))
        if not tower:
            if not vision_tower:
                report.add(PATH_FLAG, model_path, f"is a plain language model (no mm_vision_tower): pass {TOWER_FLAG}")
            return  # --vision-tower itself is checked once by the caller
    if tower and vision_tower and vision_tower != tower:
        report.add(PATH_FLAG, model_path, f"its mm_vision_tower {tower} differs from {TOWER_FLAG} {vision_tower}")
    if tower:
        _check_checkpoint_tower(report, model_path, tower)


def _check_trainable_lora(report, model_path, folder: Path, model_base, tower, files: CheckpointFiles) -> None:
    _check_adapters(report, PATH_FLAG, folder, files)
    if not (folder / files.connector).is_file():
        report.add(PATH_FLAG, model_path, f"has LoRA adapters but no {files.connector} (the trained connector)")
    _check_trained(report, PATH_FLAG, folder / files.connector)
    if not tower:
        report.add(PATH_FLAG, model_path, "config.json has no mm_vision_tower: not a LLaVA checkpoint")
    base = model_base
    if base is None:
        base = (read_json_object(folder / files.adapter_config)[0] or {}).get("base_model_name_or_path")
    if not base:
        report.add(PATH_FLAG, model_path, f"holds LoRA adapters and {files.adapter_config} names no base model: pass "
                   f"the base language model folder with {BASE_FLAG}")
    elif model_base is not None:
        report.add_each(BASE_FLAG, None, model_folder_problems(model_base))
    elif problems := model_folder_problems(base):
        report.add(PATH_FLAG, model_path, f"the base model named in {files.adapter_config}: {'; '.join(problems)}; "
                   f"pass the base language model folder with {BASE_FLAG}")


def _check_checkpoint_tower(report: PreflightReport, model_path, tower: str) -> None:
    problem = vision_tower_problem(tower)
    if problem:
        report.add(PATH_FLAG, model_path, f"mm_vision_tower {tower} in its config.json: {problem} ({REBUILT})")


def check_resume_checkpoint(report: PreflightReport, flag: str, checkpoint: Path, files: CheckpointFiles) -> None:
    """The trained weights a resumed run restores (LoRA adapters, connector): complete and finite,
    so a diverged or cut checkpoint stops the run before the model is built, not after it."""
    if (checkpoint / files.adapter_config).is_file():
        _check_adapters(report, flag, checkpoint, files)
    _check_trained(report, flag, checkpoint / files.connector)


def _folder(report: PreflightReport, model_path) -> Optional[Path]:
    folder = Path(str(model_path)).expanduser()
    return None if report.add(PATH_FLAG, None, input_folder_problem(folder)) else folder


def _check_adapters(report: PreflightReport, flag: str, folder: Path, files: CheckpointFiles) -> None:
    read = next((folder / name for name in files.adapter_weights if (folder / name).is_file()), None)
    if read is None:
        report.add(flag, None, f"{folder} has adapter_config.json but no {' or '.join(files.adapter_weights)} "
                   "(the LoRA weights)")
    else:
        report.add(flag, None, weight_file_problem(read) or non_finite_tensor_problem(read))


def _check_trained(report: PreflightReport, flag: str, path: Path) -> None:
    """A trained weight file that is there (absence is reported separately), or its .safetensors twin
    (safe_load.prefer_safetensors): complete, and every tensor finite."""
    twin = path.with_suffix(".safetensors")
    path = twin if path.suffix == ".bin" and twin.is_file() else path
    if path.is_file():
        report.add(flag, None, weight_file_problem(path) or non_finite_tensor_problem(path))


def _config(report: PreflightReport, folder: Path) -> Optional[Dict[str, Any]]:
    """config.json's object; None without the file, {} for one that cannot be read (reported)."""
    path = folder / "config.json"
    if not path.is_file():
        return None
    config, problem = read_json_object(path)
    report.add(PATH_FLAG, None, problem)
    return config or {}
