"""Trainable parameters by module: what a SocialFusion run actually trains.

Printed at the start of training; the vision tower line must read 0 trainable.
Works under DeepSpeed ZeRO-3, where a partitioned parameter's local numel() is 0 (ds_numel holds
the real size).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Dict, Tuple

import torch.nn as nn

from ..host_interface import CONNECTOR, LANGUAGE_MODEL, LORA, VISION_TOWER

# What a parameter name is: one of the host's PARAMETER_ROLES (`DiagnosticsHost.parameter_role`).
ParameterRole = Callable[[str], str]

# report line -> the parameter role it counts, in report order
GROUP_ROLES = OrderedDict((("language-model LoRA", LORA), ("connector", CONNECTOR), ("vision tower", VISION_TOWER),
                           ("language model (non-LoRA)", LANGUAGE_MODEL)))
GROUPS = tuple(GROUP_ROLES)
_GROUP_OF_ROLE = {role: group for group, role in GROUP_ROLES.items()}


def parameter_group(name: str, parameter_role: ParameterRole) -> str:
    return _GROUP_OF_ROLE[parameter_role(name)]


def _numel(param) -> int:
    return int(getattr(param, "ds_numel", 0) or param.numel())


def trainable_parameters_by_group(model: nn.Module, parameter_role: ParameterRole) -> Dict[str, Tuple[int, int]]:
    """{group: (trainable, total)} in GROUPS order."""
    counts = OrderedDict((group, [0, 0]) for group in GROUPS)
    for name, param in model.named_parameters():
        group = parameter_group(name, parameter_role)
        size = _numel(param)
        counts[group][1] += size
        if param.requires_grad:
            counts[group][0] += size
    return OrderedDict((group, (t, n)) for group, (t, n) in counts.items())


def format_trainable_report(model: nn.Module, parameter_role: ParameterRole) -> str:
    """The report's lines; `parameter_role` is the host's (what a parameter is, by name)."""
    counts = trainable_parameters_by_group(model, parameter_role)
    total_trainable = sum(t for t, _ in counts.values())
    total = sum(n for _, n in counts.values())
    lines = ["trainable parameters by module:"]
    for group, (trainable, size) in counts.items():
        lines.append(f"  {group:<26} {trainable:>14,d} trainable of {size:>14,d}")
    share = 100.0 * total_trainable / total if total else 0.0
    lines.append(f"  {'total':<26} {total_trainable:>14,d} trainable of {total:>14,d} ({share:.4f}%)")
    return "\n".join(lines)
