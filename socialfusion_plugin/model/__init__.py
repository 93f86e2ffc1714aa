"""Model parts: the frozen open_clip vision tower, connectors, LoRA target selection, reports."""
from __future__ import annotations

from ..registry import VISION_ENCODERS
from .connectors import build_connector, register_builtin_connectors


def register_builtin_model_parts() -> None:
    from .open_clip_tower import OpenClipVisionTower
    from .tower_spec import PREFIX

    if PREFIX not in VISION_ENCODERS:
        VISION_ENCODERS.register(PREFIX, OpenClipVisionTower)
    register_builtin_connectors()


__all__ = ["build_connector", "register_builtin_model_parts"]
