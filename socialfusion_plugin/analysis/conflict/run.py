"""`socialfusion conflict`: per-task gradient cosine similarity for one or more checkpoints.

For each checkpoint the host rebuilds the model with trainable connector + LoRA
(`DiagnosticsHost.load_trainable`), K seeded batches per task go through the host's own training
preprocessing (`training_batch`, `batch_loss`), and the gradients averaged per task are compared
pairwise, overall and per parameter group, by cosine similarity. A diagnostic: the model is in eval
mode (no dropout: the same batches give the same gradients) and its weights never change; only
`.grad` is used and cleared. The results are written as conflict.json, a heatmap per checkpoint
(all / connector / LoRA panels, one colorbar) named after the checkpoint, and, for several
checkpoints, a trend of mean cosine and negative share; every chart is a PNG with a PDF copy.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

import numpy as np
import torch

from ...errors import UserInputError
from ...host_interface import CONNECTOR, LORA, DiagnosticsHost
from ...plots import checkpoint_name, heatmap_panels, line_panels, safe_file_part, save_figure
from ...progress import progress_bar
from ...run_settings import RunSettings
from .task_batches import load_task_records, sample_batches, task_locations

NOTES = (
    "cosine similarity of per-task mean gradients of the loss w.r.t. the trainable parameters (connector + LoRA); "
    "a diagnostic: no optimizer step is taken",
    "negative_share: share of task pairs (i < j) with cosine < 0 among pairs whose gradients are non-zero",
    "a fresh LoRA (kind base or full) has B = 0, so its A matrices get exactly zero gradient; their groups then "
    "carry only B",
)


@dataclass(frozen=True, kw_only=True)
class ConflictConfig(RunSettings):
    """One conflict run; the fields with help, and those of RunSettings, are `socialfusion conflict`'s
    flags (cli/flags.py)."""

    model_paths: List[Path] = field(metadata={"flag": "--model-path", "metavar": "PATH", "help": (
        "LoRA checkpoint(s) (adapter + non_lora_trainables.bin), a merged LLaVA checkpoint, or a plain language model "
        "(then --vision-tower; connector and LoRA start fresh)")})
    tasks: List[str] = field(metadata={"metavar": "TASK", "help": "two or more task names"})
    out_dir: Path = field(metadata={"flag": "--out", "help": "output folder (conflict.json, PNG heatmaps, trend)"})
    data_root: Optional[Path] = None  # --data-root; None: `data` names every task's file
    data: Dict[str, Path] = field(default_factory=dict)  # --data TASK=FILE (overrides data_root)
    image_folders: Dict[str, Path] = field(default_factory=dict)  # --image-folder TASK=DIR
    batches: int = field(default=4, metadata={"help": "K batches per task (default: 4)"})
    model_base: Optional[str] = field(default=None, metadata={
        "help": "base language model of LoRA checkpoints (default: from adapter_config.json)"})
    vision_tower: Optional[str] = field(default=None, metadata={
        "help": "tower for a plain language model, e.g. open_clip:ViT-L-14-336@openai"})
    version: str = "v1"  # --version: the LLaVA conversation template used in training
    lora_r: int = field(default=8, metadata={"help": "rank of a fresh LoRA (plain or merged models)"})
    lora_alpha: int = field(default=16, metadata={"help": "alpha of a fresh LoRA"})
    projector_type: str = field(default="mlp2x_gelu", metadata={"help": "connector of a plain language model"})
    device: Optional[str] = "cpu"
    dtype: Optional[str] = "float32"
    batch_size: int = 4
    progress: bool = True

    def __post_init__(self):
        if len(self.tasks) < 2 or len(set(self.tasks)) != len(self.tasks):
            raise UserInputError(f"conflict: --tasks needs two or more distinct names, got {self.tasks}")
        if not self.model_paths:
            raise UserInputError("conflict: --model-path needs at least one checkpoint")
        if self.batches <= 0 or self.batch_size <= 0:
            raise UserInputError("conflict: --batches and --batch-size must be positive")
        super().__post_init__()  # dtype
        for kind, values in (("--data", self.data), ("--image-folder", self.image_folders)):
            stray = sorted(set(values) - set(self.tasks))
            if stray:
                raise UserInputError(f"conflict: {kind} names task(s) {stray} that are not in --tasks")


def run_conflict(config: ConflictConfig, host: DiagnosticsHost) -> Dict[str, Any]:
    task_records = {name: load_task_records(name, *task_locations(name, config.data_root, config.data,
                                                                  config.image_folders)) for name in config.tasks}
    plans = {name: sample_batches(records, config.batches, config.batch_size, config.seed)
             for name, records in task_records.items()}
    checkpoints = []
    for model_path in config.model_paths:
        trainable = host.load_trainable(
            model_path, model_base=config.model_base, vision_tower=config.vision_tower, version=config.version,
            lora_r=config.lora_r, lora_alpha=config.lora_alpha, projector_type=config.projector_type,
            dtype=getattr(torch, config.dtype), seed=config.seed)
        trainable.model.to(config.device)
        gradients = {}
        for name in config.tasks:
            plan = progress_bar(plans[name], enabled=config.progress, description=f"gradients {name}", unit=" batches")
            batches = (host.training_batch(trainable, records) for records in plan)
            gradients[name] = average_gradient(trainable.model, batches, lambda model, batch: host.batch_loss(
                trainable, batch, config.device, getattr(torch, config.dtype)))
        checkpoints.append({"model_path": str(model_path), "kind": trainable.kind,
                            "step": checkpoint_step(Path(model_path)), "loaded_tensors": trainable.loaded_keys,
                            "groups": conflict_groups(gradients, host)})
        del trainable, gradients
    return {"tasks": config.tasks, "batches_per_task": config.batches, "batch_size": config.batch_size,
            "seed": config.seed, "checkpoints": checkpoints, "notes": list(NOTES),
            "data": {name: {"file": str(r.file), "records": len(r.records), "skipped": r.skipped}
                     for name, r in task_records.items()}}


def checkpoint_step(path: Path) -> Optional[int]:
    """N for a `checkpoint-N` folder (the x axis of the trend), else None."""
    match = re.fullmatch(r"checkpoint-(\d+)", path.name)
    return int(match.group(1)) if match else None


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
    # undefined (None) where a gradient is zero: e.g. LoRA A of a fresh LoRA (B = 0) gets no gradient
    matrix = [[None if norms[a] == 0.0 or norms[b] == 0.0
               else float(torch.dot(flat[a], flat[b]) / (norms[a] * norms[b])) for b in tasks] for a in tasks]
    return matrix, norms


def pair_summary(tasks: List[str], matrix: List[List[Optional[float]]]) -> Dict[str, object]:
    """Share of negative task pairs and the mean cosine over defined pairs (i < j)."""
    values = [matrix[i][j] for i in range(len(tasks)) for j in range(i + 1, len(tasks)) if matrix[i][j] is not None]
    negative = sum(1 for v in values if v < 0)
    return {"pairs": len(values), "negative_pairs": negative,
            "negative_share": negative / len(values) if values else None,
            "mean_cosine": sum(values) / len(values) if values else None}


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


PANELS = ("all", "connector", "lora")


def heatmap_file_name(index: int, count: int, model_path: str) -> str:
    """`conflict_heatmap_<checkpoint>.png`; with several checkpoints their order comes first
    (`conflict_heatmap_00_<checkpoint>.png`), which also keeps two same-named folders apart."""
    name = safe_file_part(checkpoint_name(model_path))
    return f"conflict_heatmap_{index:02d}_{name}.png" if count > 1 else f"conflict_heatmap_{name}.png"


def write_conflict_report(result: Dict[str, Any], out_dir: Path) -> Dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"json": out_dir / "conflict.json"}
    written["json"].write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    count = len(result["checkpoints"])
    for index, checkpoint in enumerate(result["checkpoints"]):
        path = out_dir / heatmap_file_name(index, count, checkpoint["model_path"])
        save_figure(_heatmaps(result["tasks"], checkpoint), path)
        written[f"heatmap_{index}"] = path
    if count > 1:
        written["trend"] = out_dir / "conflict_trend.png"
        save_figure(_trend(result["checkpoints"]), written["trend"])
    return written


def _heatmaps(tasks, checkpoint: Dict[str, Any]):
    panels = []
    for group in (g for g in PANELS if g in checkpoint["groups"]):
        data = checkpoint["groups"][group]
        matrix = np.array([[np.nan if v is None else v for v in row] for row in data["matrix"]], dtype=float)
        share = data["negative_share"]
        panels.append((f"{group}\nnegative pairs: {'n/a' if share is None else f'{share:.0%}'}", matrix))
    step = checkpoint.get("step")
    title = f"gradient cosine between tasks: {checkpoint_name(checkpoint['model_path'])}" + (
        f" (step {step})" if step is not None else "")
    return heatmap_panels(panels, tasks, title, "gradient cosine (-1 opposed, +1 aligned)", (-1.0, 1.0))


def _trend(checkpoints):
    use_steps = all(c["step"] is not None for c in checkpoints)
    panels: Dict[str, Dict[str, list]] = {"mean cosine": {}, "negative share": {}}
    for index, checkpoint in enumerate(checkpoints):
        x = checkpoint["step"] if use_steps else index
        for group in PANELS:
            data = checkpoint["groups"].get(group)
            if not data:
                continue
            for panel, key in (("mean cosine", "mean_cosine"), ("negative share", "negative_share")):
                if data[key] is not None:
                    panels[panel].setdefault(group, []).append((x, data[key]))
    return line_panels(panels, "step" if use_steps else "checkpoint (order given)", "",
                       "gradient conflict over training",
                       ylabels={"mean cosine": "mean gradient cosine", "negative share": "share of negative pairs"})
