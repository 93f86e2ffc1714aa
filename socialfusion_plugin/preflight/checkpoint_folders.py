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

import json
from pathlib import Path
from typing import Any, Dict, Optional

from ..host_interface import CheckpointFiles
from .weight_integrity import non_finite_tensor_problem, weight_file_problem
from .locations import input_folder_problem
from .model_folders import adapter_weights_problem, adapter_weights_read, model_folder_problems
from .report import PreflightReport
from .towers import vision_tower_problem

REBUILT = "the tower is rebuilt from this value: make its weights available on this machine"


def check_loaded_checkpoint(report: PreflightReport, files: CheckpointFiles, path_flag: str, model_path,
                            base_flag: str, model_base: Optional[str], lora_only: bool = False) -> None:
    """eval (`lora_only` False) and merge (True, a LoRA checkpoint of a LLaVA model); `files`: the host's
    checkpoint file names (LLaVA: adapter_config.json, non_lora_trainables.bin, ...)."""
    if model_base is not None:
        _check_model(report, base_flag, model_base)
    folder = _folder(report, path_flag, model_path)
    if folder is None:
        return
    config = _config(report, path_flag, model_path, folder)
    has_adapters = (folder / files.adapter_config).is_file()
    if config is None and not has_adapters:
        report.add(path_flag, None, f"no config.json in {folder}: not a LLaVA checkpoint or model folder")
        return
    config = config or {}
    tower = config.get("mm_vision_tower")
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
        _check_trained(report, path_flag, _read_twin(folder / files.connector))
    elif model_base is not None and (folder / files.projector).is_file():
        _check_trained(report, path_flag, _read_twin(folder / files.projector))
    else:
        for problem in model_folder_problems(folder):  # full / merged checkpoint or plain language model
            report.add(path_flag, None, problem)
    if tower:
        _check_checkpoint_tower(report, path_flag, model_path, tower)


def check_trainable_checkpoint(report: PreflightReport, files: CheckpointFiles, path_flag: str, model_path,
                               base_flag: str, model_base: Optional[str], tower_flag: str,
                               vision_tower: Optional[str]) -> None:
    """conflict: one --model-path value."""
    folder = _folder(report, path_flag, model_path)
    if folder is None:
        return
    config = _config(report, path_flag, model_path, folder)
    if config is None:
        report.add(path_flag, None, f"no config.json in {folder} (expected a LLaVA checkpoint or a language model "
                   "folder)")
        return
    tower = config.get("mm_vision_tower")
    if (folder / files.adapter_config).is_file():
        _check_trainable_lora(report, path_flag, model_path, folder, base_flag, model_base, tower, files)
    elif not tower:
        for problem in model_folder_problems(folder):
            report.add(path_flag, None, problem)
        if not vision_tower:
            report.add(path_flag, model_path, f"is a plain language model (no mm_vision_tower): pass {tower_flag}")
        return  # --vision-tower itself is checked once by the caller
    else:
        for problem in model_folder_problems(folder):
            report.add(path_flag, None, problem)
    if tower and vision_tower and vision_tower != tower:
        report.add(path_flag, model_path, f"its mm_vision_tower {tower} differs from {tower_flag} {vision_tower}")
    if tower:
        _check_checkpoint_tower(report, path_flag, model_path, tower)


def _check_trainable_lora(report, path_flag, model_path, folder: Path, base_flag, model_base, tower,
                          files: CheckpointFiles) -> None:
    _check_adapters(report, path_flag, folder, files)
    if not (folder / files.connector).is_file():
        report.add(path_flag, model_path, f"has LoRA adapters but no {files.connector} (the trained connector)")
    _check_trained(report, path_flag, _read_twin(folder / files.connector))
    if not tower:
        report.add(path_flag, model_path, "config.json has no mm_vision_tower: not a LLaVA checkpoint")
    base = model_base
    if base is None:
        try:
            base = json.loads((folder / files.adapter_config).read_text(encoding="utf-8")).get("base_model_name_or_path")
        except (OSError, ValueError, AttributeError):
            base = None
    if not base:
        report.add(path_flag, model_path, f"holds LoRA adapters and {files.adapter_config} names no base model: pass "
                   f"the base language model folder with {base_flag}")
        return
    if model_base is not None:
        _check_model(report, base_flag, model_base)
        return
    problems = model_folder_problems(base)
    if problems:
        report.add(path_flag, model_path, f"the base model named in {files.adapter_config}: {'; '.join(problems)}; "
                   f"pass the base language model folder with {base_flag}")


def _check_model(report: PreflightReport, flag: str, path) -> None:
    for problem in model_folder_problems(path):
        report.add(flag, None, problem)


def _check_checkpoint_tower(report: PreflightReport, flag: str, model_path, tower: str) -> None:
    problem = vision_tower_problem(str(tower))
    if problem:
        report.add(flag, model_path, f"mm_vision_tower {tower} in its config.json: {problem} ({REBUILT})")


def check_resume_checkpoint(report: PreflightReport, flag: str, checkpoint: Path, files: CheckpointFiles) -> None:
    """The trained weights a resumed run restores (LoRA adapters, connector): complete and finite,
    so a diverged or cut checkpoint stops the run before the model is built, not after it."""
    if (checkpoint / files.adapter_config).is_file():
        _check_adapters(report, flag, checkpoint, files)
    _check_trained(report, flag, _read_twin(checkpoint / files.connector))


def _folder(report: PreflightReport, flag: str, model_path) -> Optional[Path]:
    folder = Path(str(model_path)).expanduser()
    problem = input_folder_problem(folder)
    if problem:
        report.add(flag, None, problem)
        return None
    return folder


def _read_twin(path: Path) -> Path:
    """The file the loader reads for `path` (X.bin): X.safetensors when it lies beside it (the
    plugin's loaders read it first: safe_load.prefer_safetensors)."""
    twin = path.with_suffix(".safetensors")
    return twin if path.suffix == ".bin" and twin.is_file() else path


def _check_adapters(report: PreflightReport, flag: str, folder: Path, files: CheckpointFiles) -> None:
    problem = adapter_weights_problem(folder, files.adapter_weights)
    report.add(flag, None, problem)
    read = adapter_weights_read(folder, files.adapter_weights)
    if problem is None and read is not None:
        report.add(flag, None, non_finite_tensor_problem(read))


def _check_trained(report: PreflightReport, flag: str, path: Path) -> None:
    """A trained weight file (connector) that is there: complete, and every tensor finite (absence
    is reported separately)."""
    if not path.is_file():
        return
    problem = weight_file_problem(path)
    report.add(flag, None, problem or non_finite_tensor_problem(path))


def _config(report: PreflightReport, flag: str, model_path, folder: Path) -> Optional[Dict[str, Any]]:
    path = folder / "config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        report.add(flag, None, f"{path} cannot be read as JSON ({type(err).__name__}: {err})")
        return {}
    if not isinstance(config, dict):
        report.add(flag, None, f"{path} is not a JSON object")
        return {}
    return config
