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
from .gradients import average_gradient, conflict_groups
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
    """One conflict run; the fields with help are `socialfusion conflict`'s flags (cli/dataclass_flags.py)."""

    model_paths: List[Path] = field(metadata={"flag": "--model-path", "metavar": "PATH", "help": (
        "LoRA checkpoint(s) (adapter + non_lora_trainables.bin), a merged LLaVA checkpoint, or a plain language model "
        "(then --vision-tower; connector and LoRA start fresh)")})
    tasks: List[str] = field(metadata={"metavar": "TASK", "help": "two or more task names"})
    out_dir: Path = field(metadata={"flag": "--out", "help": "output folder (conflict.json, PNG heatmaps, trend)"})
    data_root: Optional[Path] = field(default=None, metadata={"help": (
        "data layout root ($SOCIALFUSION_DATA): converted/<task>_train.json and the image folder <task>/")})
    data: Dict[str, Path] = field(default_factory=dict)  # --data TASK=FILE (overrides data_root)
    image_folders: Dict[str, Path] = field(default_factory=dict)  # --image-folder TASK=DIR
    batches: int = field(default=4, metadata={"help": "K batches per task (default: 4)"})
    batch_size: int = field(default=4, metadata={"help": "samples per batch (default: 4)"})
    seed: int = field(default=0, metadata={"help": "seed of batch sampling and of fresh initializations"})
    model_base: Optional[str] = field(default=None, metadata={
        "help": "base language model of LoRA checkpoints (default: from adapter_config.json)"})
    vision_tower: Optional[str] = field(default=None, metadata={
        "help": "tower for a plain language model, e.g. open_clip:ViT-L-14-336@openai"})
    version: str = field(default="v1", metadata={
        "help": "LLaVA conversation template used in training (default: v1)"})
    lora_r: int = field(default=8, metadata={"help": "rank of a fresh LoRA (plain or merged models)"})
    lora_alpha: int = field(default=16, metadata={"help": "alpha of a fresh LoRA"})
    projector_type: str = field(default="mlp2x_gelu", metadata={"help": "connector of a plain language model"})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda, cuda:1, ... (default: cpu)"})
    dtype: str = field(default="float32", metadata={
        "choices": tuple(DTYPES), "help": "dtype the model runs in (default: float32)"})
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
            plan = progress_bar(plans[name], enabled=config.progress, description=f"gradients {name}", unit=" batches")
            batches = (host.training_batch(trainable, records) for records in plan)
            gradients[name] = average_gradient(trainable.model, batches, lambda model, batch: host.batch_loss(
                trainable, batch, config.device, DTYPES[config.dtype]))
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


def checkpoint_step(path: Path) -> Optional[int]:
    """N for a `checkpoint-N` folder (the x axis of the trend), else None."""
    match = re.fullmatch(r"checkpoint-(\d+)", path.name)
    return int(match.group(1)) if match else None
