"""The vision tower's tensors out of a local checkpoint, and nothing else.

Only the files the layout lists as holding tower keys are opened; from a safetensors file only the
tower's tensors are read (a VLM's language model stays on disk). A `.bin` file is read through the
allow-list unpickler (`socialfusion_plugin/safe_load.py`), which runs no code from the file. The tensors are then
loaded into the tower built from the config, and every tensor the probe reads must be there with
its shape: modules the probe never reads (`TowerFamily.unread_modules`: post_layernorm, SigLIP's
pooling head) may be absent from a checkpoint and are then left out of the module.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import torch

from .base import EncoderSpecError
from .hf_tower_layout import SIGNATURE, TowerLayout

# a buffer that older transformers saved with the weights; recomputed by the module itself
IGNORED_SUFFIXES = ("embeddings.position_ids",)


def read_tower_state(layout: TowerLayout) -> Dict[str, torch.Tensor]:
    """{'vision_model.<...>': tensor} of the tower in `layout`."""
    head = layout.key_prefix + "vision_model."
    by_file: Dict[Path, List[str]] = defaultdict(list)
    for key, path in layout.key_files.items():
        by_file[path].append(key)
    state: Dict[str, torch.Tensor] = {}
    if by_file:
        for path, keys in sorted(by_file.items()):
            state.update(_read_keys(path, keys))
    else:  # a single .bin file, not listable before it is read
        path = layout.weight_files[0]
        everything = _read_torch_file(path)
        state = {key: value for key, value in everything.items() if key.startswith(head)}
        if layout.key_prefix + SIGNATURE not in state:
            raise EncoderSpecError(f"{path}: no vision tower weights under {head!r} (no {layout.key_prefix}{SIGNATURE})")
    return {key[len(layout.key_prefix):]: value for key, value in state.items()
            if not key.endswith(IGNORED_SUFFIXES)}


def load_tower_weights(model: torch.nn.Module, state: Dict[str, torch.Tensor], layout: TowerLayout) -> List[str]:
    """Copy `state` into `model` (a CLIP/SigLIP vision model); returns the unread modules left out."""
    left_out = []
    for name in layout.family.unread_modules:
        if hasattr(model.vision_model, name) and not any(k.startswith(f"vision_model.{name}.") for k in state):
            setattr(model.vision_model, name, torch.nn.Identity())  # absent from the checkpoint, never read
            left_out.append(name)
    expected = {key: value.shape for key, value in model.state_dict().items() if not key.endswith(IGNORED_SUFFIXES)}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    where = f"{layout.folder} ({layout.source}, tower keys under {layout.key_prefix or '(no prefix)'}vision_model.)"
    if missing:
        raise EncoderSpecError(f"{where}: {len(missing)} tower weight(s) not found in the checkpoint, e.g. {missing[:3]}")
    if unexpected:
        raise EncoderSpecError(f"{where}: {len(unexpected)} tower weight(s) that config.json's tower does not have, "
                               f"e.g. {unexpected[:3]}")
    wrong = [f"{key} {tuple(state[key].shape)} vs {tuple(shape)}" for key, shape in expected.items()
             if tuple(state[key].shape) != tuple(shape)]
    if wrong:
        raise EncoderSpecError(f"{where}: {len(wrong)} tower weight(s) whose shape does not fit config.json "
                               f"(checkpoint vs config), e.g. {wrong[:2]}")
    model.load_state_dict(state, strict=False)  # strictness checked above, with messages that name the folder
    return left_out


def _read_keys(path: Path, keys: List[str]) -> Dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            return {key: handle.get_tensor(key) for key in keys}
    everything = _read_torch_file(path)
    absent = [key for key in keys if key not in everything]
    if absent:
        raise EncoderSpecError(f"{path}: the weight index lists {absent[:3]} in it, but the file does not hold them")
    return {key: everything[key] for key in keys}


def _read_torch_file(path: Path) -> Dict[str, torch.Tensor]:
    from ...safe_load import read_state_dict

    return read_state_dict(path)
