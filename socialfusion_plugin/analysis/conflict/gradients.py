"""Per-task gradients of a model's trainable parameters, averaged over batches.

The model is in eval mode (no dropout: the same batches give the same gradients) and its weights
are never changed; only `.grad` is used and cleared.
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable

import torch
from socialfusion_plugin.errors import UserInputError


def trainable_parameters(model) -> Dict[str, torch.nn.Parameter]:
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise UserInputError("the model has no trainable parameters (connector + LoRA expected)")
    return params


def average_gradient(model, batches: Iterable[dict], forward: Callable[[object, dict], torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Mean over `batches` of d loss / d parameter, for every trainable parameter (float32, CPU)."""
    params = trainable_parameters(model)
    total = {name: torch.zeros(p.shape, dtype=torch.float32) for name, p in params.items()}
    count = 0
    model.eval()
    for batch in batches:
        model.zero_grad(set_to_none=True)
        loss = forward(model, batch)
        if not torch.isfinite(loss):
            raise UserInputError(f"non-finite loss {float(loss)} on batch {count}")
        loss.backward()
        for name, p in params.items():
            if p.grad is not None:
                total[name] += p.grad.detach().float().cpu()
        count += 1
    model.zero_grad(set_to_none=True)
    if count == 0:
        raise UserInputError("no batch to compute a gradient on")
    return {name: value / count for name, value in total.items()}
