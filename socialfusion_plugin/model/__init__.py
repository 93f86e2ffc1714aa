"""Model parts: the frozen open_clip vision tower, connectors, LoRA target selection, reports."""
from __future__ import annotations

from ..registry import VISION_ENCODERS
from .connectors import build_connector, register_builtin_connectors


def register_builtin_model_parts() -> None:
    from .open_clip_tower import ENCODER_NAME, build_open_clip_tower

    if ENCODER_NAME not in VISION_ENCODERS:
        VISION_ENCODERS.register(ENCODER_NAME, build_open_clip_tower)
    register_builtin_connectors()


__all__ = ["build_connector", "register_builtin_model_parts"]
