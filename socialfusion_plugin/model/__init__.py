"""Model parts: the frozen open_clip vision tower, connectors, LoRA target selection, reports."""
from __future__ import annotations

from ..registry import CONNECTORS, VISION_ENCODERS
from .connectors import BUILTIN_CONNECTORS, build_connector


def register_builtin_model_parts() -> None:
    from .open_clip_tower import OpenClipVisionTower
    from .tower_spec import PREFIX

    for registry, name, entry in [(VISION_ENCODERS, PREFIX, OpenClipVisionTower),
                                  *((CONNECTORS, name, builder) for name, builder in BUILTIN_CONNECTORS.items())]:
        if name not in registry:
            registry.register(name, entry)


__all__ = ["build_connector", "register_builtin_model_parts"]
