"""`socialfusion conflict`: per-task gradient cosine similarity for one or more checkpoints.

For each checkpoint the host rebuilds the model with trainable connector + LoRA
(`DiagnosticsHost.load_trainable`), K seeded batches per task go through the host's own training
preprocessing (`training_batch`, `batch_loss`), and the gradients averaged per task are compared
pairwise. A diagnostic: weights never change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ...host_interface import DiagnosticsHost
from ...progress import progress_bar
from .gradients import average_gradient
from .similarity import conflict_groups
from .task_batches import load_task_records, sample_batches, task_locations
from socialfusion_plugin.errors import UserInputError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
NOTES = (
    "cosine similarity of per-task mean gradients of the loss w.r.t. the trainable parameters (connector + LoRA); "
    "a diagnostic: no optimizer step is taken",
    "negative_share: share of task pairs (i < j) with cosine < 0 among pairs whose gradients are non-zero",
    "a fresh LoRA (kind base or full) has B = 0, so its A matrices get exactly zero gradient; their groups then "
    "carry only B",
)


@dataclass
class ConflictConfig:
    model_paths: List[Path]
    tasks: List[str]
    out_dir: Path
    data_root: Optional[Path] = None
    data: Dict[str, Path] = field(default_factory=dict)
    image_folders: Dict[str, Path] = field(default_factory=dict)
    batches: int = 4
    batch_size: int = 4
    seed: int = 0
    model_base: Optional[str] = None
    vision_tower: Optional[str] = None
    version: str = "v1"
    lora_r: int = 8
    lora_alpha: int = 16
    projector_type: str = "mlp2x_gelu"
    device: str = "cpu"
    dtype: str = "float32"
    progress: bool = True

    def __post_init__(self):
        if len(self.tasks) < 2 or len(set(self.tasks)) != len(self.tasks):
            raise UserInputError(f"conflict: --tasks needs two or more distinct names, got {self.tasks}")
        if not self.model_paths:
            raise UserInputError("conflict: --model-path needs at least one checkpoint")
        if self.batches <= 0 or self.batch_size <= 0:
            raise UserInputError("conflict: --batches and --batch-size must be positive")
        if self.dtype not in DTYPES:
            raise UserInputError(f"conflict: --dtype must be one of {', '.join(DTYPES)}")
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
            dtype=DTYPES[config.dtype], seed=config.seed)
        trainable.model.to(config.device)
        gradients = {}
        for name in config.tasks:
            batches = (host.training_batch(trainable, records)
                       for records in _progress(plans[name], name, config.progress))
            gradients[name] = average_gradient(trainable.model, batches, _forward(host, trainable, config.device,
                                                                                  DTYPES[config.dtype]))
        checkpoints.append({"model_path": str(model_path), "kind": trainable.kind, "step": checkpoint_step(Path(model_path)),
                            "loaded_tensors": trainable.loaded_keys, "groups": conflict_groups(gradients, host)})
        del trainable, gradients
    return {
        "tasks": config.tasks,
        "batches_per_task": config.batches,
        "batch_size": config.batch_size,
        "seed": config.seed,
        "data": {name: {"file": str(r.file), "records": len(r.records), "skipped": r.skipped}
                 for name, r in task_records.items()},
        "checkpoints": checkpoints,
        "notes": list(NOTES),
    }


def _forward(host: DiagnosticsHost, trainable, device: str, dtype: torch.dtype):
    def forward(model, batch):
        return host.batch_loss(trainable, batch, device, dtype)

    return forward


def _progress(items, name: str, enabled: bool):
    return progress_bar(items, enabled=enabled, description=f"gradients {name}", unit=" batches")


def checkpoint_step(path: Path) -> Optional[int]:
    """N for a `checkpoint-N` folder (the x axis of the trend), else None."""
    match = re.fullmatch(r"checkpoint-(\d+)", path.name)
    return int(match.group(1)) if match else None
