"""LLaVA-1.5's module names: which modules are the vision tower and the connector, where the language
model's layers are, and which linear layers get LoRA. Code outside `host/` asks the host instead.

LLaVA's `find_all_linear_names` returns bare leaf names ("q_proj", "out_proj", ...), and PEFT
matches bare names against EVERY module of the model: a language model that shares a leaf name
with the vision tower (e.g. MPT's `out_proj`, which open_clip's attention also has) would get LoRA
inside the frozen tower. The rule here is a full-match regex that excludes the multimodal modules
by path (`model/lora_targets.py` builds it).
"""
from __future__ import annotations

import re
from typing import List, Optional

import torch.nn as nn

from socialfusion_plugin.host_interface import CONNECTOR, LANGUAGE_MODEL, LORA, VISION_TOWER
from socialfusion_plugin.model.lora_targets import linear_leaf_names, lora_target_regex

VISION_TOWER_MODULE = "vision_tower"
CONNECTOR_MODULE = "mm_projector"
MULTIMODAL_KEYWORDS = (CONNECTOR_MODULE, VISION_TOWER_MODULE, "vision_resampler")
NEVER_TARGETED = ("lm_head",)  # LLaVA keeps the output head out of LoRA (needed for 16-bit)
LORA_MARK = "lora_"  # peft's parameter names: ...q_proj.lora_A.default.weight
_LAYER = re.compile(r"\.layers\.(\d+)\.")  # model.layers.N. of the Llama-family language model


def language_model_linear_names(model: nn.Module) -> List[str]:
    return linear_leaf_names(model, MULTIMODAL_KEYWORDS, NEVER_TARGETED)


def language_model_lora_targets(model: nn.Module) -> str:
    return lora_target_regex(language_model_linear_names(model), MULTIMODAL_KEYWORDS)


def parameter_role(name: str) -> str:
    if VISION_TOWER_MODULE in name:
        return VISION_TOWER
    if CONNECTOR_MODULE in name:
        return CONNECTOR
    if LORA_MARK in name:
        return LORA
    return LANGUAGE_MODEL


def layer_index(name: str) -> Optional[int]:
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None
