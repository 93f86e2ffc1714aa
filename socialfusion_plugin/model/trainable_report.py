"""Trainable parameters by module: what a SocialFusion run actually trains.

Printed at the start of training; the vision tower line must read 0 trainable.
Works under DeepSpeed ZeRO-3, where a partitioned parameter's local numel() is 0 (ds_numel holds
the real size).
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import torch.nn as nn

from ..host_interface import CONNECTOR, LANGUAGE_MODEL, LORA, VISION_TOWER

# What a parameter name is: one of the host's PARAMETER_ROLES (`DiagnosticsHost.parameter_role`).
ParameterRole = Callable[[str], str]

# the parameter role -> its report line, in report order
GROUP_OF_ROLE = {LORA: "language-model LoRA", CONNECTOR: "connector", VISION_TOWER: "vision tower",
                 LANGUAGE_MODEL: "language model (non-LoRA)"}


def trainable_parameters_by_group(model: nn.Module, parameter_role: ParameterRole) -> Dict[str, Tuple[int, int]]:
    """{group: (trainable, total)} in report order."""
    counts = {group: [0, 0] for group in GROUP_OF_ROLE.values()}
    for name, param in model.named_parameters():
        group = GROUP_OF_ROLE[parameter_role(name)]
        size = int(getattr(param, "ds_numel", 0) or param.numel())
        counts[group][0] += size if param.requires_grad else 0
        counts[group][1] += size
    return {group: (trainable, total) for group, (trainable, total) in counts.items()}


def format_trainable_report(model: nn.Module, parameter_role: ParameterRole) -> str:
    """The report's lines; `parameter_role` is the host's (what a parameter is, by name)."""
    counts = trainable_parameters_by_group(model, parameter_role)
    total_trainable, total = (sum(column) for column in zip(*counts.values()))
    lines = ["trainable parameters by module:", *(f"  {group:<26} {trainable:>14,d} trainable of {size:>14,d}"
                                                  for group, (trainable, size) in counts.items())]
    share = 100.0 * total_trainable / total if total else 0.0
    lines.append(f"  {'total':<26} {total_trainable:>14,d} trainable of {total:>14,d} ({share:.4f}%)")
    return "\n".join(lines)
