"""The file names of LLaVA checkpoints, what a checkpoint folder holds, and copying its saved tensors
into a model exactly, in one place (the loaders, the trainer, resume and preflight use them)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from socialfusion_plugin.errors import CheckpointError
from socialfusion_plugin.host_interface import CheckpointFiles

ADAPTER_CONFIG = "adapter_config.json"  # peft's: LoRA adapters are in the folder
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
NON_LORA_FILE = "non_lora_trainables.bin"  # stock LLaVA's loader asks for it by name
NON_LORA_SAFETENSORS = "non_lora_trainables.safetensors"  # the same tensors; what the plugin reads when present
PROJECTOR_FILE = "mm_projector.bin"  # a pretraining stage's connector

LLAVA_CHECKPOINT_FILES = CheckpointFiles(adapter_config=ADAPTER_CONFIG, adapter_weights=ADAPTER_WEIGHTS,
                                         connector=NON_LORA_FILE, connector_safetensors=NON_LORA_SAFETENSORS,
                                         projector=PROJECTOR_FILE)


@dataclass(frozen=True)
class CheckpointContents:
    """What a checkpoint folder holds, read from its files (never from its name). Every loader
    decides its kind from this one reading."""
    config: Optional[Dict[str, Any]]  # config.json, None when absent
    has_adapters: bool  # LoRA adapters (adapter_config.json)
    has_connector: bool  # non_lora_trainables.bin beside the adapters
    has_projector: bool  # mm_projector.bin (connector-only checkpoint)

    @property
    def multimodal(self) -> bool:
        """A LLaVA model (config.json names a vision tower), not a plain language model."""
        return bool((self.config or {}).get("mm_vision_tower"))


def inspect_checkpoint(model_path) -> CheckpointContents:
    path = Path(model_path)
    config_path = path / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else None
    return CheckpointContents(config, has_adapters=(path / ADAPTER_CONFIG).is_file(),
                              has_connector=(path / NON_LORA_FILE).is_file(),
                              has_projector=(path / PROJECTOR_FILE).is_file())


def checkpoint_kind(model_path: Path, model_base: Optional[str]) -> str:
    """From the files of `model_path`:
    - "lora": LoRA adapters + non_lora_trainables.bin (the connector; the plugin's trainer writes
      non_lora_trainables.safetensors beside it, which is read instead) of a LLaVA model, on `model_base`;
    - "projector": mm_projector.bin (a pretraining stage's connector) on `model_base`;
    - "full": a LLaVA checkpoint (config.json with mm_vision_tower), e.g. merged;
    - "language-model": a plain language model (no mm_vision_tower), or LoRA adapters of one on `model_base`.
    """
    model_path = Path(model_path)
    if not model_path.is_dir():
        raise CheckpointError(f"checkpoint folder {model_path} not found")
    contents = inspect_checkpoint(model_path)
    if contents.config is None and not contents.has_adapters:
        raise CheckpointError(f"{model_path} has no config.json: not a LLaVA checkpoint")
    if contents.has_adapters:
        if model_base is None:
            raise CheckpointError(f"{model_path} holds LoRA adapters: pass the base language model with --model-base")
        if not contents.multimodal:
            return "language-model"
        if not contents.has_connector:
            raise CheckpointError(f"{model_path} has LoRA adapters but no {NON_LORA_FILE} (the trained connector). "
                                  "Checkpoints written by `socialfusion train` always have it; stock LLaVA writes it "
                                  "only at the end.")
        return "lora"
    if model_base is not None and contents.has_projector:
        return "projector"
    return "full" if contents.multimodal else "language-model"


def copy_exact(params: Dict[str, "torch.nn.Parameter"], path: Path) -> int:
    """Copy every tensor of the file at `path` (.safetensors, or a .bin read by `safe_load`: nothing in
    it runs) into its parameter; a key without its parameter, a parameter without its key, or another
    shape is an error (the trainable-model loader and resume both restore trained weights this way)."""
    import torch

    from socialfusion_plugin.safe_load import read_state_dict

    saved = read_state_dict(path)
    unexpected = sorted(set(saved) - set(params))
    uncovered = sorted(set(params) - set(saved))
    if unexpected or uncovered:
        raise mismatch_error(path, unexpected, uncovered)
    with torch.no_grad():
        for name, tensor in saved.items():
            if params[name].shape != tensor.shape:
                raise CheckpointError(f"{path}: {name} has shape {tuple(tensor.shape)}, "
                                      f"the model {tuple(params[name].shape)}")
            params[name].copy_(tensor.to(params[name].dtype))
    return len(saved)


def mismatch_error(path: Path, unexpected, uncovered) -> CheckpointError:
    return CheckpointError(f"{path}: keys do not match the rebuilt model ({len(unexpected)} unexpected, e.g. "
                           f"{unexpected[:3]}; {len(uncovered)} parameters not in the file, e.g. {uncovered[:3]}). "
                           "Was it trained with another base model, LoRA target set or connector?")
