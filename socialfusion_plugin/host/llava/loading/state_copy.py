"""Copying saved tensors into a model's parameters exactly: every saved tensor finds its parameter
with the same shape, and every parameter asked for is covered (the trainable-model loader and
resume both restore trained weights this way)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import torch

from socialfusion_plugin.errors import CheckpointError
from socialfusion_plugin.safe_load import read_state_dict


def read_tensor_file(path: Path) -> Dict[str, torch.Tensor]:
    """A dict of tensors from .safetensors or a .bin whose pickle holds nothing else (safe_load.read:
    a pickle that would call anything else is refused, naming the file; nothing in it runs)."""
    return read_state_dict(path)


def copy_exact(params: Dict[str, torch.nn.Parameter], saved: Dict[str, torch.Tensor], path: Path) -> int:
    """Copy every saved tensor into its parameter; any unmatched or uncovered key is an error."""
    unexpected = sorted(set(saved) - set(params))
    uncovered = sorted(set(params) - set(saved))
    if unexpected or uncovered:
        raise mismatch_error(path, unexpected, uncovered)
    with torch.no_grad():
        for name, tensor in saved.items():
            if params[name].shape != tensor.shape:
                raise CheckpointError(f"{path}: {name} has shape {tuple(tensor.shape)}, the model {tuple(params[name].shape)}")
            params[name].copy_(tensor.to(params[name].dtype))
    return len(saved)


def mismatch_error(path: Path, unexpected, uncovered) -> CheckpointError:
    return CheckpointError(
        f"{path}: keys do not match the rebuilt model ({len(unexpected)} unexpected, e.g. {unexpected[:3]}; "
        f"{len(uncovered)} parameters not in the file, e.g. {uncovered[:3]}). Was it trained with another base "
        "model, LoRA target set or connector?"
    )
