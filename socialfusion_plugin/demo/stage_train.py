"""Demo training: LLaVA's train() through the launcher, in a separate process (as users run it),
with its progress on the console."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from ..resources import deepspeed_config

SHOWN_PREFIXES = ("trainable parameters", "language-model", "connector", "vision tower", "language model",
                  "total", "socialfusion train:")
HOST_STEP_LINE = "socialfusion train: step"
PROGRESS_LINES = 10  # progress lines per training run on the console


def pretrain_command(llm_dir: Path, vision_tower: str, data_path: Path, image_folder: Path, run_dir: Path,
                     steps: int, seed: int, learning_rate: float, connector: str = "mlp2x_gelu",
                     batch_size: int = 8) -> List[str]:
    """Stage 1, as recipes/pretrain_connector.sh runs it (LLaVA-1.5's pretrain.sh): the connector alone
    (--tune_mm_mlp_adapter, no LoRA), plain template (image, then the answer), on a LLaVA JSON whose
    records all have an image. Writes run_dir/mm_projector.bin and .safetensors; no checkpoints (LLaVA's
    stage-1 checkpoints hold the connector only and cannot be resumed)."""
    return [
        sys.executable, "-m", "socialfusion_plugin.train",
        "--model_name_or_path", str(llm_dir), "--version", "plain",
        "--data_path", str(data_path), "--image_folder", str(image_folder),
        "--vision_tower", vision_tower, "--mm_vision_select_layer", "-2", "--mm_projector_type", connector,
        "--tune_mm_mlp_adapter", "True", "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False",
        "--learning_rate", str(learning_rate), "--weight_decay", "0.", "--warmup_ratio", "0.03",
        "--lr_scheduler_type", "cosine", "--bf16", "False",
        "--max_steps", str(steps), "--per_device_train_batch_size", str(batch_size), "--save_strategy", "no",
        "--logging_steps", "1", "--model_max_length", "512", "--dataloader_num_workers", "0", "--report_to", "none",
        "--seed", str(seed), "--output_dir", str(run_dir),
    ]


def train_command(llm_dir: Path, vision_tower: str, data_args: List[str], run_dir: Path, steps: int, seed: int,
                  learning_rate: float, deepspeed: Optional[str], connector: str = "mlp2x_gelu",
                  save_steps: Optional[int] = None, batch_size: int = 8,
                  projector_learning_rate: Optional[float] = None,
                  pretrain_adapter: Optional[Path] = None) -> List[str]:
    # float32: a CPU gains nothing from bf16 (the GPU recipes use it), and the tiny model's small
    # updates are kept exactly
    projector_lr = learning_rate if projector_learning_rate is None else projector_learning_rate
    command = [
        sys.executable, "-m", "socialfusion_plugin.train",
        "--model_name_or_path", str(llm_dir), "--version", "v1", *data_args,
        "--vision_tower", vision_tower, "--mm_vision_select_layer", "-2", "--mm_projector_type", connector,
        "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False",
        "--lora_enable", "True", "--lora_r", "8", "--lora_alpha", "16",
        "--mm_projector_lr", str(projector_lr), "--learning_rate", str(learning_rate), "--bf16", "False",
        "--max_steps", str(steps), "--per_device_train_batch_size", str(batch_size),
        "--save_strategy", "steps", "--save_steps", str(save_steps or max(1, steps // 2)), "--logging_steps", "1",
        "--model_max_length", "512", "--dataloader_num_workers", "0", "--report_to", "none",
        "--group_by_modality_length", "True", "--seed", str(seed), "--output_dir", str(run_dir),
    ]
    if pretrain_adapter is not None:  # stage 2 starts its connector from stage 1, as LLaVA-1.5 does
        command += ["--pretrain_mm_mlp_adapter", str(pretrain_adapter)]
    if deepspeed:
        command += ["--deepspeed", str(deepspeed_config(deepspeed))]
    return command


def untrained_command(command: List[str], run_dir: Path) -> List[str]:
    """The same run stopped after one step at learning rate 0: a checkpoint of the weights training
    starts from (same seed, so the same random connector and LoRA initialization), which the
    evaluation scores as the untrained model."""
    untrained = list(command)
    for flag, value in (("--max_steps", "1"), ("--learning_rate", "0"), ("--mm_projector_lr", "0"),
                        ("--save_steps", "1"), ("--output_dir", str(run_dir))):
        untrained[untrained.index(flag) + 1] = value
    if "--deepspeed" in untrained:
        del untrained[untrained.index("--deepspeed"):untrained.index("--deepspeed") + 2]
    return untrained


class TrainingProgress:
    """Reads the trainer's per-step log lines ({'loss': ...}) from its output and echoes about
    PROGRESS_LINES lines per run: step, loss, elapsed time and an estimate of the time left."""

    def __init__(self, total_steps: int, echo, label: str, lines: int = PROGRESS_LINES):
        self.total, self.echo, self.label = total_steps, echo, label
        self.every = max(1, total_steps // lines)
        self.started = time.monotonic()
        self.steps = 0

    def feed(self, line: str) -> None:
        text = line.strip()
        if not (text.startswith("{'loss'") or text.startswith('{"loss"')):
            return
        try:
            logs = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return
        self.steps += 1
        if self.steps % self.every and self.steps != self.total:
            return
        elapsed = time.monotonic() - self.started
        left = elapsed / self.steps * (self.total - self.steps)
        self.echo(f"      {self.label}step {self.steps:>4}/{self.total}  loss {float(logs['loss']):.3f}  "
                  f"{elapsed:5.0f} s elapsed, about {left:.0f} s left")


def run_training(command: List[str], log_path: Path, echo, env: Dict[str, str], show: bool = True,
                 progress_label: Optional[str] = "", progress_lines: int = PROGRESS_LINES) -> List[float]:
    """Run one training; show the trainable-parameter report (show=True) and progress lines
    (progress_label None: none); return the logged losses."""
    environment = dict(os.environ, PYTHONUNBUFFERED="1", **env)
    # The tiny model gains nothing from a second thread, and on a shared machine one thread per
    # process keeps the demo from competing with itself; a value the user set is kept.
    environment.setdefault("OMP_NUM_THREADS", "1")
    progress = TrainingProgress(int(command[command.index("--max_steps") + 1]), echo, progress_label, progress_lines)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=environment)
        for line in process.stdout:
            log.write(line)
            # the launcher's own step lines (time-based, for logs) go to the log only: the demo
            # prints its own, a fixed number per run
            if show and line.strip().startswith(SHOWN_PREFIXES) and not line.strip().startswith(HOST_STEP_LINE):
                echo("  " + line.strip())
            if progress_label is not None:
                progress.feed(line)
        code = process.wait()
    if code != 0:
        tail = Path(log_path).read_text(encoding="utf-8").splitlines()[-25:]
        raise RuntimeError(f"training failed (exit {code}); last lines of {log_path}:\n" + "\n".join(tail))
    run_dir = Path(command[command.index("--output_dir") + 1])
    state = json.loads((run_dir / "trainer_state.json").read_text(encoding="utf-8"))
    return [entry["loss"] for entry in state.get("log_history", []) if "loss" in entry]


def checkpoints(run_dir: Path) -> List[Path]:
    return sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
