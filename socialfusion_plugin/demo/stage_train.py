"""Demo training: LLaVA's train() through the launcher, in a separate process (as users run it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from ..resources import deepspeed_config

SHOWN_PREFIXES = ("trainable parameters", "language-model", "connector", "vision tower", "language model",
                  "total", "socialfusion train:")


def train_command(llm_dir: Path, vision_tower: str, data_args: List[str], run_dir: Path, steps: int, seed: int,
                  learning_rate: float, deepspeed: Optional[str], connector: str = "mlp2x_gelu",
                  save_steps: Optional[int] = None) -> List[str]:
    command = [
        sys.executable, "-m", "socialfusion_plugin.train",
        "--model_name_or_path", str(llm_dir), "--version", "v1", *data_args,
        "--vision_tower", vision_tower, "--mm_vision_select_layer", "-2", "--mm_projector_type", connector,
        "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False",
        "--lora_enable", "True", "--lora_r", "8", "--lora_alpha", "16",
        "--mm_projector_lr", str(learning_rate), "--learning_rate", str(learning_rate), "--bf16", "True",
        "--max_steps", str(steps), "--per_device_train_batch_size", "4",
        "--save_strategy", "steps", "--save_steps", str(save_steps or max(1, steps // 2)), "--logging_steps", "1",
        "--model_max_length", "512", "--dataloader_num_workers", "0", "--report_to", "none",
        "--group_by_modality_length", "True", "--seed", str(seed), "--output_dir", str(run_dir),
    ]
    if deepspeed:
        command += ["--deepspeed", str(deepspeed_config(deepspeed))]
    return command


def run_training(command: List[str], log_path: Path, echo, env: Dict[str, str], show: bool = True) -> List[float]:
    """Run one training; show the trainable-parameter report; return the logged losses."""
    environment = dict(os.environ, PYTHONUNBUFFERED="1", **env)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=environment)
        for line in process.stdout:
            log.write(line)
            if show and line.strip().startswith(SHOWN_PREFIXES):
                echo("  " + line.strip())
        code = process.wait()
    if code != 0:
        tail = log_path.read_text(encoding="utf-8").splitlines()[-25:]
        raise RuntimeError(f"training failed (exit {code}); last lines of {log_path}:\n" + "\n".join(tail))
    run_dir = Path(command[command.index("--output_dir") + 1])
    state = json.loads((run_dir / "trainer_state.json").read_text(encoding="utf-8"))
    return [entry["loss"] for entry in state.get("log_history", []) if "loss" in entry]


def checkpoints(run_dir: Path) -> List[Path]:
    return sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
