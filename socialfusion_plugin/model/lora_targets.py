"""LoRA goes into the language model only.

LLaVA's `find_all_linear_names` returns bare leaf names ("q_proj", "out_proj", ...), and PEFT
matches bare names against EVERY module of the model: a language model that shares a leaf name
with the vision tower (e.g. MPT's `out_proj`, which open_clip's attention also has) would get LoRA
inside the frozen tower. A full-match regex that excludes the multimodal modules by path closes that.
"""
from __future__ import annotations

import re
from typing import Iterable, List

import torch.nn as nn
from socialfusion_plugin.errors import UserInputError

MULTIMODAL_KEYWORDS = ("mm_projector", "vision_tower", "vision_resampler")
NEVER_TARGETED = ("lm_head",)  # LLaVA keeps the output head out of LoRA (needed for 16-bit)


def language_model_linear_names(model: nn.Module) -> List[str]:
    names = set()
    for name, module in model.named_modules():
        if any(keyword in name for keyword in MULTIMODAL_KEYWORDS):
            continue
        if isinstance(module, nn.Linear):
            leaf = name.rsplit(".", 1)[-1]
            if leaf not in NEVER_TARGETED:
                names.add(leaf)
    return sorted(names)


def lora_target_regex(leaf_names: Iterable[str]) -> str:
    """A PEFT `target_modules` string: PEFT full-matches it against each module's dotted path."""
    leaves = sorted(set(leaf_names))
    if not leaves:
        raise UserInputError("the language model has no nn.Linear layer to put LoRA on")
    excluded = "|".join(re.escape(k) for k in MULTIMODAL_KEYWORDS)
    alternatives = "|".join(re.escape(leaf) for leaf in leaves)
    return rf"^(?!.*(?:{excluded})).*\.(?:{alternatives})$"


def language_model_lora_targets(model: nn.Module) -> str:
    return lora_target_regex(language_model_linear_names(model))
