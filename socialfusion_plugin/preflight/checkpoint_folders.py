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


def check_loaded_checkpoint(report: PreflightReport, files: CheckpointFiles, path_flag: str, model_path,
                            base_flag: str, model_base: Optional[str], lora_only: bool = False) -> None:
    """eval (`lora_only` False) and merge (True, a LoRA checkpoint of a LLaVA model); `files`: the host's
    checkpoint file names (LLaVA: adapter_config.json, non_lora_trainables.bin, ...)."""
    if model_base is not None:
        report.add_each(base_flag, None, model_folder_problems(model_base))
    folder = _folder(report, path_flag, model_path)
    if folder is None:
        return
    config = _config(report, path_flag, folder)
    has_adapters = (folder / files.adapter_config).is_file()
    if config is None and not has_adapters:
        report.add(path_flag, None, f"no config.json in {folder}: not a LLaVA checkpoint or model folder")
        return
    tower = (config or {}).get("mm_vision_tower")
    if lora_only and not (has_adapters and tower):
        report.add(path_flag, model_path, "is not a LoRA checkpoint of a LLaVA model (needs adapter_config.json and "
                   "a config.json with mm_vision_tower); nothing to merge")
        return
    if has_adapters:
        if model_base is None:
            report.add(path_flag, model_path, f"holds LoRA adapters: pass the base language model with {base_flag}")
        _check_adapters(report, path_flag, folder, files)
        if tower and not (folder / files.connector).is_file():
            report.add(path_flag, model_path, f"has LoRA adapters but no {files.connector} (the trained connector); "
                       "checkpoints written by `socialfusion train` always have it, stock LLaVA writes it only at "
                       "the end of training")
        _check_trained(report, path_flag, folder / files.connector)
    elif model_base is not None and (folder / files.projector).is_file():
        _check_trained(report, path_flag, folder / files.projector)
    else:  # full / merged checkpoint or plain language model
        report.add_each(path_flag, None, model_folder_problems(folder))
    if tower:
        _check_checkpoint_tower(report, path_flag, model_path, tower)


def check_trainable_checkpoint(report: PreflightReport, files: CheckpointFiles, path_flag: str, model_path,
                               base_flag: str, model_base: Optional[str], tower_flag: str,
                               vision_tower: Optional[str]) -> None:
    """conflict: one --model-path value."""
    folder = _folder(report, path_flag, model_path)
    if folder is None:
        return
    config = _config(report, path_flag, folder)
    if config is None:
        report.add(path_flag, None, f"no config.json in {folder} (expected a LLaVA checkpoint or a language model "
                   "folder)")
        return
    tower = config.get("mm_vision_tower")
    if (folder / files.adapter_config).is_file():
        _check_trainable_lora(report, path_flag, model_path, folder, base_flag, model_base, tower, files)
    else:
        report.add_each(path_flag, None, model_folder_problems(folder))
        if not tower:
            if not vision_tower:
                report.add(path_flag, model_path, f"is a plain language model (no mm_vision_tower): pass {tower_flag}")
            return  # --vision-tower itself is checked once by the caller
    if tower and vision_tower and vision_tower != tower:
        report.add(path_flag, model_path, f"its mm_vision_tower {tower} differs from {tower_flag} {vision_tower}")
    if tower:
        _check_checkpoint_tower(report, path_flag, model_path, tower)


def _check_trainable_lora(report, path_flag, model_path, folder: Path, base_flag, model_base, tower,
                          files: CheckpointFiles) -> None:
    _check_adapters(report, path_flag, folder, files)
    if not (folder / files.connector).is_file():
        report.add(path_flag, model_path, f"has LoRA adapters but no {files.connector} (the trained connector)")
    _check_trained(report, path_flag, folder / files.connector)
    if not tower:
        report.add(path_flag, model_path, "config.json has no mm_vision_tower: not a LLaVA checkpoint")
    base = model_base
    if base is None:
        base = (read_json_object(folder / files.adapter_config)[0] or {}).get("base_model_name_or_path")
    if not base:
        report.add(path_flag, model_path, f"holds LoRA adapters and {files.adapter_config} names no base model: pass "
                   f"the base language model folder with {base_flag}")
    elif model_base is not None:
        report.add_each(base_flag, None, model_folder_problems(model_base))
    elif problems := model_folder_problems(base):
        report.add(path_flag, model_path, f"the base model named in {files.adapter_config}: {'; '.join(problems)}; "
                   f"pass the base language model folder with {base_flag}")


def _check_checkpoint_tower(report: PreflightReport, flag: str, model_path, tower: str) -> None:
    problem = vision_tower_problem(str(tower))
    if problem:
        report.add(flag, model_path, f"mm_vision_tower {tower} in its config.json: {problem} ({REBUILT})")


def check_resume_checkpoint(report: PreflightReport, flag: str, checkpoint: Path, files: CheckpointFiles) -> None:
    """The trained weights a resumed run restores (LoRA adapters, connector): complete and finite,
    so a diverged or cut checkpoint stops the run before the model is built, not after it."""
    if (checkpoint / files.adapter_config).is_file():
        _check_adapters(report, flag, checkpoint, files)
    _check_trained(report, flag, checkpoint / files.connector)


def _folder(report: PreflightReport, flag: str, model_path) -> Optional[Path]:
    folder = Path(str(model_path)).expanduser()
    problem = input_folder_problem(folder)
    report.add(flag, None, problem)
    return None if problem else folder


def _check_adapters(report: PreflightReport, flag: str, folder: Path, files: CheckpointFiles) -> None:
    """The LoRA weight file peft reads: the first of the host's names (safetensors first) present."""
    read = next((folder / name for name in files.adapter_weights if (folder / name).is_file()), None)
    if read is None:
        report.add(flag, None, f"{folder} has adapter_config.json but no {' or '.join(files.adapter_weights)} "
                   "(the LoRA weights)")
    else:
        report.add(flag, None, weight_file_problem(read) or non_finite_tensor_problem(read))


def _check_trained(report: PreflightReport, flag: str, path: Path) -> None:
    """A trained weight file (connector) that is there: complete, and every tensor finite (absence
    is reported separately). For X.bin, X.safetensors is checked where it lies beside it: the
    plugin's loaders read it first (safe_load.prefer_safetensors)."""
    twin = path.with_suffix(".safetensors")
    path = twin if path.suffix == ".bin" and twin.is_file() else path
    if path.is_file():
        report.add(flag, None, weight_file_problem(path) or non_finite_tensor_problem(path))


def _config(report: PreflightReport, flag: str, folder: Path) -> Optional[Dict[str, Any]]:
    """config.json's object; None without the file, {} for one that cannot be read (reported)."""
    path = folder / "config.json"
    if not path.is_file():
        return None
    config, problem = read_json_object(path)
    report.add(flag, None, problem)
    return config or {}
