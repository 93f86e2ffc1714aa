"""Loading trained checkpoints through LLaVA's own loader, and merging LoRA into a full model.

LLaVA's `load_pretrained_model` picks its code path from substrings of the model NAME ('llava',
'lora'). A checkpoint's kind is decided here from its FILES instead, and the name handed to LLaVA
is chosen to select the matching path, so folder names do not matter.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

LORA_FILES = ("adapter_config.json",)
NON_LORA_FILE = "non_lora_trainables.bin"


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be loaded as asked; the message says what is missing."""


@dataclass
class LoadedModel:
    tokenizer: Any
    model: Any
    image_processor: Any
    context_len: int
    kind: str  # "lora", "projector" or "full"


def checkpoint_kind(model_path: Path, model_base: Optional[str]) -> str:
    model_path = Path(model_path)
    if not model_path.is_dir():
        raise CheckpointError(f"checkpoint folder {model_path} not found")
    if not (model_path / "config.json").is_file():
        raise CheckpointError(f"{model_path} has no config.json: not a LLaVA checkpoint")
    if all((model_path / name).is_file() for name in LORA_FILES):
        if model_base is None:
            raise CheckpointError(f"{model_path} holds LoRA adapters: pass the base language model with --model-base")
        if not (model_path / NON_LORA_FILE).is_file():
            raise CheckpointError(
                f"{model_path} has LoRA adapters but no {NON_LORA_FILE} (the trained connector). Checkpoints "
                "written by `socialfusion train` always have it; stock LLaVA writes it only at the end."
            )
        return "lora"
    if model_base is not None and (model_path / "mm_projector.bin").is_file():
        return "projector"
    return "full"


_LLAVA_DISPATCH_NAME = {"lora": "llava-lora", "projector": "llava-projector", "full": "llava"}


def load_checkpoint(model_path, model_base: Optional[str] = None, device: str = "cpu", dtype: Optional[str] = None) -> LoadedModel:
    """Load a LoRA (+ base), connector-only (+ base) or merged/full checkpoint with LLaVA's loader."""
    from .install import install_model_hooks

    install_model_hooks()
    import torch
    from llava.model.builder import load_pretrained_model

    kind = checkpoint_kind(Path(model_path), model_base)
    extra = {}
    if dtype is not None:
        extra["torch_dtype"] = getattr(torch, dtype)
    tokenizer, model, image_processor, context_len = load_pretrained_model(
        str(model_path),
        model_base,
        _LLAVA_DISPATCH_NAME[kind],
        device=device,  # LLaVA maps any non-"cuda" device to device_map={"": device} itself
        **extra,
    )
    tower = model.get_vision_tower()
    tower.to(device=model.device, dtype=model.dtype)
    model.eval()
    if tokenizer.pad_token is None:
        # LLaVA's train() pads with <unk> (LLaMA tokenizers have no pad token); a LoRA checkpoint's
        # tokenizer comes from model_base, unchanged, so batched inference needs the same choice.
        tokenizer.pad_token = tokenizer.unk_token
    return LoadedModel(tokenizer, model, image_processor, context_len, kind)


def merge_lora(model_path, model_base: str, out_dir, device: str = "cpu") -> Path:
    """Write a merged checkpoint that LLaVA loads without model_base. The frozen tower's weights are
    not copied: the tower is rebuilt from `mm_vision_tower` like in every other checkpoint."""
    loaded = load_checkpoint(model_path, model_base, device=device)
    if loaded.kind != "lora":
        raise CheckpointError(f"{model_path} is not a LoRA checkpoint; nothing to merge")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = loaded.model
    state = {k: v for k, v in model.state_dict().items() if ".vision_tower." not in f".{k}"}
    model.config.use_cache = True
    model.save_pretrained(out_dir, state_dict=state, safe_serialization=True)
    loaded.tokenizer.save_pretrained(out_dir)
    return out_dir


def is_lora_checkpoint(path) -> bool:
    return all(os.path.isfile(os.path.join(path, name)) for name in LORA_FILES)
