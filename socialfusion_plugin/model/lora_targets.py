"""LoRA goes into the language model only: the rule, given which modules a host calls multimodal.

PEFT matches a bare `target_modules` name against EVERY module of the model, so a leaf name shared
by the language model and the vision tower would put LoRA inside the frozen tower. A full-match
regex that excludes the multimodal modules by path closes that. Which modules those are is the
host's knowledge (LLaVA's in `host/llava/environment/llava_modules.py`).
"""
from __future__ import annotations

import re
from typing import Iterable, List, Sequence

import torch.nn as nn
from socialfusion_plugin.errors import UserInputError


def linear_leaf_names(model: nn.Module, excluded: Sequence[str], never_targeted: Sequence[str]) -> List[str]:
    """Leaf names of the nn.Linear modules whose path contains none of `excluded`, minus `never_targeted`."""
    names = set()
    for name, module in model.named_modules():
        if any(keyword in name for keyword in excluded):
            continue
        if isinstance(module, nn.Linear):
            leaf = name.rsplit(".", 1)[-1]
            if leaf not in never_targeted:
                names.add(leaf)
    return sorted(names)


def lora_target_regex(leaf_names: Iterable[str], excluded: Sequence[str]) -> str:
    """A PEFT `target_modules` string: PEFT full-matches it against each module's dotted path."""
    leaves = sorted(set(leaf_names))
    if not leaves:
        raise UserInputError("the language model has no nn.Linear layer to put LoRA on")
    skipped = "|".join(re.escape(k) for k in excluded)
    alternatives = "|".join(re.escape(leaf) for leaf in leaves)
    if not skipped:
        return rf"^.*\.(?:{alternatives})$"
    return rf"^(?!.*(?:{skipped})).*\.(?:{alternatives})$"
