"""Per-task gradients of a model's trainable parameters, averaged over batches, and their pairwise
cosine similarity, overall and per parameter group.

The model is in eval mode (no dropout: the same batches give the same gradients) and its weights
are never changed; only `.grad` is used and cleared.
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Mapping, Optional

import torch

from ...errors import UserInputError
from ...host_interface import CONNECTOR, LORA, DiagnosticsHost


def average_gradient(model, batches: Iterable[dict],
                     forward: Callable[[object, dict], torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Mean over `batches` of d loss / d parameter, for every trainable parameter (float32, CPU)."""
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise UserInputError("the model has no trainable parameters (connector + LoRA expected)")
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


def parameter_groups(names: List[str], host: DiagnosticsHost) -> Dict[str, List[str]]:
    """all / connector / lora / lora_layer_NN -> parameter names (sorted, so flattening is stable).
    What a parameter is comes from the host (`parameter_role`, `layer_index`)."""
    groups: Dict[str, List[str]] = {"all": sorted(names), "connector": [], "lora": []}
    for name in sorted(names):
        role = host.parameter_role(name)
        if role == CONNECTOR:
            groups["connector"].append(name)
        elif role == LORA:
            groups["lora"].append(name)
            layer = host.layer_index(name)
            if layer is not None:
                groups.setdefault(f"lora_layer_{layer:02d}", []).append(name)
    return {group: members for group, members in groups.items() if members}


def cosine_matrix(gradients: Mapping[str, Mapping[str, torch.Tensor]], members: List[str]):
    """(tasks x tasks matrix with None where a task's gradient is zero, norms per task)."""
    tasks = list(gradients)
    flat = {task: torch.cat([gradients[task][name].reshape(-1).double() for name in members]) for task in tasks}
    norms = {task: float(flat[task].norm()) for task in tasks}
    matrix: List[List[Optional[float]]] = []
    for a in tasks:
        row = []
        for b in tasks:
            if norms[a] == 0.0 or norms[b] == 0.0:
                row.append(None)  # undefined: e.g. LoRA A of a fresh LoRA (B = 0) gets no gradient
            else:
                row.append(float(torch.dot(flat[a], flat[b]) / (norms[a] * norms[b])))
        matrix.append(row)
    return matrix, norms


def pair_summary(tasks: List[str], matrix: List[List[Optional[float]]]) -> Dict[str, object]:
    """Share of negative task pairs and the mean cosine over defined pairs (i < j)."""
    values = [matrix[i][j] for i in range(len(tasks)) for j in range(i + 1, len(tasks)) if matrix[i][j] is not None]
    return {
        "pairs": len(values),
        "negative_pairs": sum(1 for v in values if v < 0),
        "negative_share": (sum(1 for v in values if v < 0) / len(values)) if values else None,
        "mean_cosine": (sum(values) / len(values)) if values else None,
    }


def conflict_groups(gradients: Mapping[str, Mapping[str, torch.Tensor]],
                    host: DiagnosticsHost) -> Dict[str, Dict[str, object]]:
    tasks = list(gradients)
    names = list(next(iter(gradients.values())))
    out = {}
    for group, members in parameter_groups(names, host).items():
        matrix, norms = cosine_matrix(gradients, members)
        out[group] = {"parameters": int(sum(gradients[tasks[0]][n].numel() for n in members)), "matrix": matrix,
                      "grad_norms": norms, **pair_summary(tasks, matrix)}
    return out
