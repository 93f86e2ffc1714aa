"""`socialfusion demo`: the whole pipeline on generated data, on a CPU, with no downloads.

1. tiny offline models (LLaMA + tokenizer, open_clip tower; random, seeded);
2. synthetic releases of the five datasets in their original formats in which every label is
   visible in the image (cue_releases), converted; a generated stand-in for the general
   instruction data; the SHIPPED recipe social5_general.yaml mixed and validated;
3. the two training stages of LLaVA-1.5: stage 1 trains the connector alone on the general stand-in's
   images (recipes/pretrain_connector.sh's settings, a few seconds), then joint SocialFusion training
   starts its connector from it (--pretrain_mm_mlp_adapter) on that recipe on the fly, through the
   launcher (DeepSpeed ZeRO-2, LoRA + connector, frozen tower), with progress lines;
4. evaluation of every task (rank mode for closed sets) for the joint model and for the untrained
   model it started from, the report with the forgetting check, and greedy answers reloaded through
   LLaVA's loader;
5. single-task runs on the shipped single_<task>.yaml recipes and the transfer table;
6. diagnostics: linear probes on the frozen tower, gradient conflict on the run's checkpoints;
7. the results table (untrained, joint, single-task and chance per task) and what it shows, each
   comparison with its 95% interval over the test samples (results_table.py, evaluation/compare.py).

The demo writes only into a folder it created (workdir.py): a non-empty folder without its marker
file is refused, untouched.

The releases hold tens of samples per task, so the intervals are wide: differences between the
joint and the single-task models are usually within noise, and the demo says so.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..host_interface import ModelHost, active_host
from ..resources import data_recipe
from . import defaults, results_table, stage_data, stage_diagnose, stage_evaluate, stage_train
from .cli_calls import CommandLog
from .cue_releases import CueReleaseSizes
from .tiny_assets import TinyLlmShape, build_tiny_assets
from .workdir import claim_workdir, joint_run_dir, pretrain_run_dir, single_run_dir, untrained_run_dir
from socialfusion_plugin.errors import UserInputError

STAGES = 7

# The demo's language model: the default tiny LLaMA with an output layer that can be confident
# (see build_tiny_llm), and the demo's answers as whole tokenizer pieces.
DEMO_LLM = TinyLlmShape(head_init_std=0.15, extra_texts=(
    "like peace palm fist friends professional no relation Anger Fear Happiness Sadness out of frame",) * 8)


@dataclass
class DemoConfig:
    workdir: Path = Path("socialfusion-demo")
    steps: int = defaults.STEPS
    single_task_steps: int = defaults.SINGLE_TASK_STEPS
    seed: int = 0
    deepspeed: Optional[str] = "zero2"  # a shipped config name, or None for a plain run
    # LoRA and connector alike: at 2e-2 the tiny model learns each task's most frequent answer and
    # never the image; at 3e-3 it reads the cues within about a hundred steps per task
    learning_rate: float = 3e-3
    projector_learning_rate: float = 3e-3
    # stage 1 (the connector alone, LLaVA-1.5's lr 1e-3 scaled up like the rest for the tiny model); 0 skips
    # it and every run starts its connector from random weights
    pretrain_steps: int = 40
    pretrain_learning_rate: float = 1e-2
    batch_size: int = 8
    transfer: bool = True  # the single-task runs for the transfer table (five more short trainings)
    diagnose: bool = True
    sizes: CueReleaseSizes = field(default_factory=CueReleaseSizes)

    def __post_init__(self):
        self.workdir = Path(self.workdir)
        if self.pretrain_steps < 0:
            raise UserInputError(f"demo stage-1 steps must be 0 (no stage 1) or more, got {self.pretrain_steps}")
        if self.steps < 2 or self.single_task_steps < 1:
            raise UserInputError("demo needs at least 2 training steps (one intermediate checkpoint)")
        if self.batch_size < 1:
            raise UserInputError(f"demo batch size must be at least 1, got {self.batch_size}")


@dataclass
class DemoResult:
    run_dir: Path
    losses: List[float] = field(default_factory=list)
    report: Dict = field(default_factory=dict)
    answers: List[dict] = field(default_factory=list)
    transfer: Optional[Dict] = None
    results: List[results_table.TaskResult] = field(default_factory=list)
    log_path: Optional[Path] = None


def run_demo(config: DemoConfig, run_command: Callable[[List[str]], int], echo=print) -> DemoResult:
    """`run_command`: `socialfusion`'s `main`, which runs each step's command (the CLI passes it in)."""
    started, cpu_started = time.time(), _cpu_seconds()
    host = active_host()  # the demo's one host: whether its training can use DeepSpeed, its loader for the answers
    # resolved: paths end up in config.json, keep them valid from any folder. Only a folder the demo
    # created is written to, and only its own earlier runs are removed (the launcher resumes from
    # checkpoints it finds): see workdir.py
    workdir = claim_workdir(config.workdir, stage_data.TASK_NAMES, echo)
    log = CommandLog(workdir / "demo.log", run_command)
    log.path.write_text("", encoding="utf-8")
    echo(f"[1/{STAGES}] building tiny offline models in {workdir}")
    assets = build_tiny_assets(workdir / "models", seed=config.seed, llm=DEMO_LLM)
    echo(f"      language model: {assets.llm_dir}")
    echo(f"      vision tower:   {assets.vision_tower}")

    env = {"SOCIALFUSION_DATA": str(workdir / "data"), "SOCIALFUSION_CACHE": str(workdir / "cache")}
    saved_env = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the shipped recipes read their data root from here
    try:
        echo(f"[2/{STAGES}] data: synthetic releases in the original formats, every label visible in the image "
             "-> convert -> mix -> validate")
        data = stage_data.prepare_data(workdir, assets.llm_dir, config.seed, log, echo, config.sizes)
        with stage_evaluate.single_thread():
            result = _train_evaluate_diagnose(config, workdir, assets, data, env, log, echo, host)
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result.log_path = log.path
    echo(f"demo finished in {time.time() - started:.0f} s wall, {_cpu_seconds() - cpu_started:.0f} CPU-seconds "
         f"(demo and its training processes); every command's output is in {log}")
    return result


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _stage1(config, workdir, assets, data, env, log, echo) -> Optional[Path]:
    """Stage 1 on the general stand-in's images (its text-only samples have nothing to align); returns the
    projector every stage-2 run (joint, untrained, single-task) starts from, or None when skipped."""
    if config.pretrain_steps == 0:
        echo(f"[3/{STAGES}] stage 1 skipped (pretrain_steps 0): every run starts its connector from random "
             "weights, on purpose")
        return None
    stage1_dir = pretrain_run_dir(workdir)
    echo(f"[3/{STAGES}] stage 1: the connector alone, {config.pretrain_steps} steps of {config.batch_size} on the "
         f"general stand-in's images (lr {config.pretrain_learning_rate:g}, plain template; LLM and tower frozen)")
    command = stage_train.pretrain_command(assets.llm_dir, assets.vision_tower, data.color_json,
                                           data.color_json.parent / "images", stage1_dir, config.pretrain_steps,
                                           config.seed, config.pretrain_learning_rate, batch_size=config.batch_size)
    losses = stage_train.run_training(command, log, echo, env, show=False, progress_label="stage 1 ",
                                      progress_lines=2)
    adapter = stage_train.stage1_projector(stage1_dir)
    echo(f"      loss {losses[0]:.3f} -> {losses[-1]:.3f}; wrote {adapter.relative_to(workdir)}, which every "
         "stage-2 run below (and the untrained model it starts from) loads as its connector")
    return adapter


def _train_evaluate_diagnose(config, workdir, assets, data, env, log, echo, host: ModelHost) -> DemoResult:
    recipe = data_recipe(stage_data.GENERAL_RECIPE)
    run_dir = joint_run_dir(workdir)
    deepspeed = config.deepspeed
    if deepspeed:
        blocker = host.deepspeed_cpu_blocker()
        if blocker is not None:
            echo(f"      DeepSpeed cannot run on this machine ({blocker}); the demo trains without it")
            deepspeed = None
    how = f"DeepSpeed {deepspeed}" if deepspeed else "no DeepSpeed"
    adapter = _stage1(config, workdir, assets, data, env, log, echo)
    echo(f"      stage 2: joint training, {config.steps} steps of {config.batch_size} on {recipe.name} on the fly "
         f"({how}, LoRA + connector)")
    command = stage_train.train_command(assets.llm_dir, assets.vision_tower, ["--data_recipe", str(recipe)], run_dir,
                                        config.steps, config.seed, config.learning_rate, deepspeed,
                                        batch_size=config.batch_size,
                                        projector_learning_rate=config.projector_learning_rate,
                                        pretrain_adapter=adapter)
    result = DemoResult(run_dir=run_dir, losses=stage_train.run_training(command, log, echo, env))
    checkpoints = stage_train.checkpoints(run_dir)
    echo(f"      loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f} over {len(result.losses)} steps; saved "
         f"{run_dir.name} and {', '.join(p.name for p in checkpoints)}")

    echo(f"[4/{STAGES}] evaluation of the test splits with eval-suite (rank mode for closed sets): the joint model, and the "
         "untrained model it started from -> report, forgetting check, greedy answers")
    untrained_dir = untrained_run_dir(workdir)
    stage_train.run_training(stage_train.untrained_command(command, untrained_dir), log, echo, env, show=False,
                             progress_label=None)
    stage_evaluate.evaluate_run(untrained_dir, assets.llm_dir, data, log)
    stage_evaluate.evaluate_run(run_dir, assets.llm_dir, data, log)
    stage_evaluate.forgetting_check(run_dir, assets.llm_dir, data, log)
    result.report = stage_evaluate.report(run_dir, log, echo)
    result.answers = stage_evaluate.color_answers(run_dir, assets.llm_dir, data, log, host)
    echo("      greedy answers of the reloaded run on colored squares of the general data (expected -> answer): "
         + ", ".join(f"{a['expected']} -> {a['answer']!r}" for a in result.answers))

    singles: Dict[str, Path] = {}
    if config.transfer:
        echo(f"[5/{STAGES}] single-task baselines ({config.single_task_steps} steps each on single_<task>.yaml) "
             "-> transfer table")
        for task in stage_data.TASK_NAMES:
            single_dir = single_run_dir(workdir, task)
            command = stage_train.train_command(
                assets.llm_dir, assets.vision_tower, ["--data_recipe", str(data_recipe(f"single_{task}"))],
                single_dir, config.single_task_steps, config.seed, config.learning_rate, None,
                save_steps=config.single_task_steps, batch_size=config.batch_size,
                projector_learning_rate=config.projector_learning_rate, pretrain_adapter=adapter)
            stage_train.run_training(command, log, echo, env, show=False, progress_label=f"{task:<10} ",
                                     progress_lines=3)
            stage_evaluate.evaluate_run(single_dir, assets.llm_dir, data, log, tasks=(task,))
            stage_evaluate.run_cli(["report", single_dir], log)
            singles[task] = single_dir
        result.transfer = stage_evaluate.transfer(run_dir, singles, log, echo)
    else:
        echo(f"[5/{STAGES}] single-task baselines skipped (--no-transfer)")

    if config.diagnose:
        echo(f"[6/{STAGES}] diagnostics: linear probes on the frozen tower, gradient conflict between tasks")
        stage_diagnose.probe(workdir, assets.vision_tower, data, log, echo)
        stage_diagnose.conflict(workdir, checkpoints, assets.llm_dir, data, log, echo)
    else:
        echo(f"[6/{STAGES}] diagnostics skipped (--no-diagnose)")

    echo(f"[7/{STAGES}] results: each task's primary metric on its test split (chance: one fixed answer for every "
         "sample, the training split's most frequent answer or mean point)")
    result.results = stage_evaluate.results(data, run_dir, untrained_dir, singles, workdir, config.seed, echo)
    return result
