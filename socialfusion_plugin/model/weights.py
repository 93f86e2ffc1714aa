"""Loading a frozen tower's weights from a local file, safely (no arbitrary unpickling)."""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn
from socialfusion_plugin.errors import UserInputError


class VisionWeightsError(UserInputError):
    """A checkpoint that does not fit the tower."""


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """A state dict from .safetensors or a torch file loaded with weights_only=True."""
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        state = load_file(path, device="cpu")
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # pickle of arbitrary objects, JIT archives, truncated files
            raise VisionWeightsError(
                f"{path}: cannot be read as a plain state dict with weights_only=True ({type(err).__name__}: "
                f"{str(err).splitlines()[0][:200]}). Save it as a state dict or .safetensors."
            ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        raise VisionWeightsError(f"{path}: expected a non-empty state dict")
    if all(key.startswith("module.") for key in state):
        state = {key[len("module."):]: value for key, value in state.items()}
    return state


def load_visual_state_dict(visual: nn.Module, path: str) -> None:
    """Load the vision part of a CLIP checkpoint (keys `visual.*`) or a vision-only checkpoint."""
    state = read_state_dict(path)
    if any(key.startswith("visual.") for key in state):
        state = {key[len("visual."):]: value for key, value in state.items() if key.startswith("visual.")}
    try:
        missing, unexpected = visual.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches raise even with strict=False
        raise VisionWeightsError(
            f"{path}: does not match the vision tower architecture ({str(err).splitlines()[-1].strip()}). "
            "Check that ARCH in --vision_tower open_clip:ARCH@WEIGHTS is the checkpoint's architecture."
        ) from None
    if missing or unexpected:
        raise VisionWeightsError(
            f"{path}: does not match the vision tower architecture "
            f"(missing {len(missing)} keys, e.g. {missing[:3]}; unexpected {len(unexpected)}, e.g. {unexpected[:3]}). "
            "Check that ARCH in --vision_tower open_clip:ARCH@WEIGHTS is the checkpoint's architecture."
        )
