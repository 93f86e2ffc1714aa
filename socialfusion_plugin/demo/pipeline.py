"""`socialfusion demo`: the whole training path on generated data, on a CPU, with no downloads.

1. build a tiny LLaMA + tokenizer and a tiny open_clip tower (random, seeded) in the work folder;
2. write a few generated images with conversations in LLaVA's format;
3. train a few steps through the launcher (a separate process, DeepSpeed ZeRO-2, LoRA + connector);
4. reload the final output and an intermediate checkpoint through LLaVA's own loader;
5. generate answers and print what happened.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from ..resources import deepspeed_config
from .synthetic_data import QUESTION, write_color_dataset
from .tiny_assets import build_tiny_assets


@dataclass
class DemoConfig:
    workdir: Path = Path("socialfusion-demo")
    steps: int = 40
    samples: int = 16
    learning_rate: float = 1e-2  # tiny random models need a large step to show learning in seconds
    seed: int = 0
    deepspeed: Optional[str] = "zero2"  # a shipped config name, or None for a plain run
    connector: str = "mlp2x_gelu"

    def __post_init__(self):
        self.workdir = Path(self.workdir)
        if self.steps < 2:
            raise ValueError("demo needs at least 2 training steps (one intermediate checkpoint)")
        if self.samples < 4:
            raise ValueError("demo needs at least 4 samples")


@dataclass
class DemoResult:
    run_dir: Path
    losses: List[float] = field(default_factory=list)
    answers: List[dict] = field(default_factory=list)
    checkpoint_answers: List[dict] = field(default_factory=list)
    log_path: Optional[Path] = None


def train_command(config: DemoConfig, assets, data_path: Path, run_dir: Path) -> List[str]:
    save_every = max(1, config.steps // 2)
    command = [
        sys.executable, "-m", "socialfusion_plugin.train",
        "--model_name_or_path", str(assets.llm_dir),
        "--version", "v1",
        "--data_path", str(data_path),
        "--image_folder", str(data_path.parent / "images"),
        "--vision_tower", assets.vision_tower,
        "--mm_vision_select_layer", "-2",
        "--mm_projector_type", config.connector,
        "--mm_use_im_start_end", "False",
        "--mm_use_im_patch_token", "False",
        "--lora_enable", "True", "--lora_r", "8", "--lora_alpha", "16",
        "--mm_projector_lr", str(config.learning_rate),
        "--learning_rate", str(config.learning_rate),
        "--bf16", "True",
        "--max_steps", str(config.steps),
        "--per_device_train_batch_size", "4",
        "--save_strategy", "steps", "--save_steps", str(save_every),
        "--logging_steps", "1",
        "--model_max_length", "256",
        "--dataloader_num_workers", "0",
        "--report_to", "none",
        "--seed", str(config.seed),
        "--output_dir", str(run_dir),
    ]
    if config.deepspeed:
        command += ["--deepspeed", str(deepspeed_config(config.deepspeed))]
    return command


def run_training(command: List[str], log_path: Path, echo) -> None:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in process.stdout:
            log.write(line)
            # Show the lines a person wants to see; the whole output stays in the log file.
            stripped = line.strip()
            if stripped.startswith(("trainable parameters", "language-model", "connector", "vision tower",
                                    "language model", "total", "socialfusion train:")):
                echo("  " + stripped)
        code = process.wait()
    if code != 0:
        tail = log_path.read_text(encoding="utf-8").splitlines()[-25:]
        raise RuntimeError(f"training failed (exit {code}); last lines of {log_path}:\n" + "\n".join(tail))


def read_losses(run_dir: Path) -> List[float]:
    state = json.loads((run_dir / "trainer_state.json").read_text(encoding="utf-8"))
    return [entry["loss"] for entry in state.get("log_history", []) if "loss" in entry]


def generate_answers(model_path: Path, model_base: Path, records: List[dict], image_dir: Path) -> List[dict]:
    from PIL import Image

    from ..host.checkpoints import load_checkpoint
    from ..host.inference import answer_question

    # LLaVA's loader prints progress and a misleading "newly initialized: mm_projector" warning (the
    # connector is loaded right after); the demo keeps its own output readable.
    with _quiet_host_output():
        loaded = load_checkpoint(model_path, str(model_base))
    answers = []
    for record in records:
        image = Image.open(image_dir / record["image"]).convert("RGB")
        text = answer_question(loaded, image, QUESTION, max_new_tokens=6)
        answers.append({"id": record["id"], "expected": record["conversations"][1]["value"], "answer": text})
    return answers


@contextlib.contextmanager
def _quiet_host_output():
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        hf_logging.set_verbosity(verbosity)


def run_demo(config: DemoConfig, echo=print) -> DemoResult:
    started = time.time()
    workdir = config.workdir.resolve()  # paths end up in config.json: keep them valid from any folder
    workdir.mkdir(parents=True, exist_ok=True)
    echo(f"[1/5] building tiny offline models in {workdir}")
    assets = build_tiny_assets(workdir / "models", seed=config.seed)
    echo(f"      language model: {assets.llm_dir}")
    echo(f"      vision tower:   {assets.vision_tower}")
    echo(f"[2/5] writing {config.samples} generated image+conversation samples")
    data_path = write_color_dataset(workdir / "data", count=config.samples, seed=config.seed)
    records = json.loads(data_path.read_text(encoding="utf-8"))
    run_dir = workdir / "runs" / "llava-tiny-socialfusion-lora"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)  # the launcher resumes from checkpoints it finds; the demo starts fresh
    how = f"DeepSpeed {config.deepspeed}" if config.deepspeed else "no DeepSpeed"
    echo(f"[3/5] training {config.steps} steps through the launcher ({how}, LoRA + {config.connector} connector)")
    log_path = workdir / "train.log"
    run_training(train_command(config, assets, data_path, run_dir), log_path, echo)
    result = DemoResult(run_dir=run_dir, losses=read_losses(run_dir), log_path=log_path)
    echo(f"      loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f} over {len(result.losses)} logged steps "
         f"(full log: {log_path})")
    checkpoints = sorted(run_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    echo(f"      saved: {run_dir} and {', '.join(p.name for p in checkpoints)}")
    echo("[4/5] reloading the final output and an intermediate checkpoint with LLaVA's load_pretrained_model")
    shown = records[:4]
    result.answers = generate_answers(run_dir, assets.llm_dir, shown, data_path.parent / "images")
    if checkpoints:
        result.checkpoint_answers = generate_answers(checkpoints[0], assets.llm_dir, shown[:1], data_path.parent / "images")
    correct = sum(item["answer"].strip().lower() == item["expected"] for item in result.answers)
    echo(f"[5/5] greedy answers of the final model: {correct}/{len(result.answers)} correct")
    for item in result.answers:
        echo(f"      {item['id']}: expected {item['expected']!r:10} generated {item['answer']!r}")
    if result.checkpoint_answers:
        item = result.checkpoint_answers[0]
        echo(f"      {checkpoints[0].name} -> {item['id']}: generated {item['answer']!r}")
    echo(f"demo finished in {time.time() - started:.0f} s")
    return result
