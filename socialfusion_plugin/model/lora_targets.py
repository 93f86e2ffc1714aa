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

from ..errors import UserInputError


def linear_leaf_names(model: nn.Module, excluded: Sequence[str], never_targeted: Sequence[str]) -> List[str]:
    """Leaf names of the nn.Linear modules whose path contains none of `excluded`, minus `never_targeted`."""
    leaves = {name.rsplit(".", 1)[-1] for name, module in model.named_modules()
              if isinstance(module, nn.Linear) and not any(keyword in name for keyword in excluded)}
    return sorted(leaves - set(never_targeted))


def lora_target_regex(leaf_names: Iterable[str], excluded: Sequence[str]) -> str:
    """A PEFT `target_modules` string: PEFT full-matches it against each module's dotted path."""
    leaves = sorted(set(leaf_names))
    if not leaves:
        raise UserInputError("the language model has no nn.Linear layer to put LoRA on")
    skipped = "|".join(re.escape(k) for k in excluded)
    alternatives = "|".join(re.escape(leaf) for leaf in leaves)
    not_excluded = rf"(?!.*(?:{skipped}))" if skipped else ""
    return rf"^{not_excluded}.*\.(?:{alternatives})$"
