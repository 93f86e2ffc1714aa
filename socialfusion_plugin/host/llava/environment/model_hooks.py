"""The hooks inference needs in LLaVA (idempotent): its builders know the plugin's towers and
connectors, and the projector weights LLaVA's model code reads itself never unpickle code.

`llava_arch.py` does `from .multimodal_encoder.builder import build_vision_tower` (and likewise for
the projector), so the names inside `llava.model.llava_arch` are the ones LLaVA calls: those are
wrapped. Anything that is not ours (a Hugging Face CLIP path, `mlp3x_gelu`, ...) goes to LLaVA's
original builder unchanged.
"""
from __future__ import annotations

import importlib

from socialfusion_plugin.host.llava.environment.host_loads import install_safe_torch_load
from socialfusion_plugin.host.llava.environment.versions import check_environment
from socialfusion_plugin.registry import CONNECTORS, VISION_ENCODERS


def wrap_tower_builder(original):
    def build_vision_tower(vision_tower_cfg, **kwargs):
        name = getattr(vision_tower_cfg, "mm_vision_tower", getattr(vision_tower_cfg, "vision_tower", None))
        prefix = name.split(":", 1)[0] if isinstance(name, str) and ":" in name else ""
        if prefix and prefix in VISION_ENCODERS:  # 'open_clip' of 'open_clip:ViT-L-14-336@openai'; else not ours
            return VISION_ENCODERS.get(prefix)(name, args=vision_tower_cfg, **kwargs)
        return original(vision_tower_cfg, **kwargs)

    build_vision_tower.socialfusion_original = original
    return build_vision_tower


def wrap_projector_builder(original):
    def build_vision_projector(config, delay_load=False, **kwargs):
        projector_type = getattr(config, "mm_projector_type", "linear")
        if projector_type in CONNECTORS:
            return CONNECTORS.get(projector_type)(config.mm_hidden_size, config.hidden_size)
        return original(config, delay_load=delay_load, **kwargs)

    build_vision_projector.socialfusion_original = original
    return build_vision_projector


def install_model_hooks() -> None:
    check_environment()
    llava_arch = importlib.import_module("llava.model.llava_arch")
    # idempotent: wrapping twice would still work, but would hide the original from tests
    for attribute, wrapper in (("build_vision_tower", wrap_tower_builder),
                               ("build_vision_projector", wrap_projector_builder)):
        current = getattr(llava_arch, attribute)
        if not hasattr(current, "socialfusion_original"):
            setattr(llava_arch, attribute, wrapper(current))
    install_safe_torch_load(llava_arch)  # LLaVA reads --pretrain_mm_mlp_adapter with a bare torch.load
