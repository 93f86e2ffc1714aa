"""`socialfusion demo`: the whole pipeline on generated data, on a CPU, with no downloads.

Tiny seeded models; releases of the five datasets in their original formats with every label visible
in the image (cue_releases), converted and mixed by the SHIPPED recipe social5_general.yaml; LLaVA-1.5's
two training stages (the connector alone, then joint LoRA + connector training starting from it);
evaluation of the joint and the untrained model with the forgetting check; single-task baselines and the
transfer table; probes and gradient conflict; the results table, each comparison with its 95% interval
(results_table.py). The releases hold tens of samples per task, so the intervals are wide: joint vs
single-task is usually within noise, and the demo says so.

Every step is a `socialfusion` sub-command run in-process, so what the demo shows is what the CLI
does; the command runner (`socialfusion`'s own `main`) is passed in, so the demo never imports the CLI
that runs it. The demo writes only into a folder it created (workdir.py).
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..atomic_files import atomic_write_json
from ..data_layout import DataLayout
from ..errors import CommandError, UserInputError
from ..host_interface import InferenceHost, ModelHost, active_host
from ..registry import TASKS
from ..resources import data_recipe, deepspeed_config
from . import defaults, results_table
from .cue_releases import CueReleaseSizes, write_cue_releases
from .synthetic_data import write_arithmetic_dataset, write_color_dataset
from .tiny_assets import TinyLlmShape, build_tiny_assets
from .workdir import claim_workdir, run_dir

STAGES = 7
TASK_NAMES = ("gesture", "relation", "gaze", "gaze_video", "emotion")
GENERAL_RECIPE = "social5_general"
SHOWN_PREFIXES = ("trainable parameters", "language-model", "connector", "vision tower", "language model",
                  "total", "socialfusion train:")
HOST_STEP_LINE = "socialfusion train: step"
PROGRESS_LINES = 10  # progress lines per training run on the console

# The demo's language model: the default tiny LLaMA with an output layer that can be confident
# (see TinyLlmShape), and the demo's answers as whole tokenizer pieces.
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


@dataclass
class DemoData:
    data_root: Path  # $SOCIALFUSION_DATA of the shipped recipes
    roots: Dict[str, Path]  # task -> dataset root (the release)
    converted: Dict[str, Dict[str, Path]]  # task -> split -> converted JSON (absolute image paths)
    color_json: Path  # general data with images (the learning check)
    heldout_text: Path  # text-only general samples never trained on (the forgetting check)


@dataclass(frozen=True)
class CommandLog:
    """The demo's log file and the runner of the `socialfusion` commands whose output goes into it."""
    path: Path
    run_command: Callable[[List[str]], int]

    def run(self, argv: List) -> None:
        out, err = io.StringIO(), io.StringIO()
        with quiet_output(out, err):
            code = self.run_command([str(a) for a in argv])
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(f"$ socialfusion {' '.join(str(a) for a in argv)}\n{out.getvalue()}{err.getvalue()}\n")
        if code != 0:
            tail = (out.getvalue() + err.getvalue()).strip().splitlines()[-15:]
            raise CommandError(f"socialfusion {argv[0]} failed (exit {code}); see {self.path}:\n" + "\n".join(tail))


@contextlib.contextmanager
def quiet_output(out: io.StringIO, err: Optional[io.StringIO] = None):
    """stdout (and stderr when given) into `out` (`err`), transformers' warnings off: LLaVA's loader
    prints progress and a misleading "newly initialized: mm_projector" warning (the connector is
    loaded right after); the demo keeps its own output readable."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err or sys.stderr):
            yield
    finally:
        hf_logging.set_verbosity(verbosity)


def run_demo(config: DemoConfig, run_command: Callable[[List[str]], int], echo=print) -> DemoResult:
    """`run_command`: `socialfusion`'s `main`, which runs each step's command (the CLI passes it in)."""
    started, cpu_started = time.time(), _cpu_seconds()
    host = active_host()  # the demo's one host: whether its training can use DeepSpeed, its loader for the answers
    # resolved: paths end up in config.json, keep them valid from any folder. Only a folder the demo
    # created is written to, and only its own earlier runs are removed (the launcher resumes from
    # checkpoints it finds): see workdir.py
    workdir = claim_workdir(config.workdir, TASK_NAMES, echo)
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
        data = prepare_data(workdir, assets.llm_dir, config.seed, log, echo, config.sizes)
        with single_thread():
            result = _train_evaluate_diagnose(config, workdir, assets, data, log, echo, host)
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    echo(f"demo finished in {time.time() - started:.0f} s wall, {_cpu_seconds() - cpu_started:.0f} CPU-seconds "
         f"(demo and its training processes); every command's output is in {log.path}")
    return result


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@contextlib.contextmanager
def single_thread():
    """Evaluation runs in this process: the tiny model gains nothing from a second thread, and one
    thread keeps the demo from competing with itself on a shared machine. A user's
    OMP_NUM_THREADS is kept."""
    import torch

    threads = torch.get_num_threads()
    if not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def write_general_data(data_root: Path, seed: int) -> Path:
    """`llava/llava_v1_5_mix665k.json` where the shipped general recipe looks for it: a generated
    stand-in (colored squares + text-only sums), clearly not the real mix665k."""
    llava = data_root / "llava"
    colors = write_color_dataset(llava / "colors", count=64, seed=seed)
    sums = json.loads(write_arithmetic_dataset(llava / "sums.json", count=16, seed=seed).read_text())
    records = json.loads(colors.read_text())
    for record in records:
        record["image"] = f"colors/images/{record['image']}"
    atomic_write_json(llava / "llava_v1_5_mix665k.json", records + sums, indent=1)
    return colors


def prepare_data(workdir: Path, llm_dir: Path, seed: int, log: CommandLog, echo, sizes: CueReleaseSizes) -> DemoData:
    data_root = workdir / "data"
    layout = DataLayout(data_root)  # where every command looks for the converted splits
    roots = write_cue_releases(data_root, seed, sizes)
    color_json = write_general_data(data_root, seed)
    heldout = write_arithmetic_dataset(workdir / "heldout" / "sums.json", count=8, seed=seed + 1)
    echo(f"      releases: {', '.join(f'{t}={p.name}/' for t, p in roots.items())} under {data_root}")
    converted = {task: {split: layout.converted(task, split) for split in ("train", "test")} for task in TASK_NAMES}
    for task, splits in converted.items():
        for split, out in splits.items():
            report = layout.report(task, split)
            log.run(["convert", task, "--root", roots[task], "--split", split, "--out", out, "--report", report,
                     "--absolute-paths", "--no-progress", "--workers", "1"])
            counts = json.loads(report.read_text())
            reasons = ", ".join(f"{n} {r}" for r, n in counts["skip_reasons"].items()) or "none"
            echo(f"      convert {task:<10} {split:<5} read {counts['read']:>2}, converted {counts['converted']:>2}, "
                 f"skipped {counts['skipped']:>2} ({reasons})")
    merged = workdir / "mixed" / "social5_general.json"
    log.run(["mix", data_recipe(GENERAL_RECIPE), "--out", merged, "--cache-dir", workdir / "cache" / "data",
             "--no-progress", "--workers", "1"])
    manifest = json.loads(merged.with_name(merged.stem + ".manifest.json").read_text())
    counts = ", ".join(f"{s['name']} {s['in_mixture']}" for s in manifest["sources"])
    echo(f"      mix {data_recipe(GENERAL_RECIPE).name}: {counts} -> {merged}")
    log.run(["validate", merged, "--image-folder", "/", "--model", llm_dir, "--version", "v1",
             "--model-max-length", "512", "--image-tokens", "16", "--report", merged.with_suffix(".validation.json"),
             "--no-progress", "--workers", "1"])
    echo("      validate: no findings (images, <image> tokens, turns, label masking, length)")
    return DemoData(data_root=data_root, roots=roots, converted=converted, color_json=color_json, heldout_text=heldout)


def _stage1(config, workdir, assets, data, log, echo) -> Optional[Path]:
    """Stage 1 on the general stand-in's images (its text-only samples have nothing to align); returns the
    projector every stage-2 run (joint, untrained, single-task) starts from, or None when skipped."""
    if config.pretrain_steps == 0:
        echo(f"[3/{STAGES}] stage 1 skipped (pretrain_steps 0): every run starts its connector from random "
             "weights, on purpose")
        return None
    stage1_dir = run_dir(workdir, "connector-pretrain")
    echo(f"[3/{STAGES}] stage 1: the connector alone, {config.pretrain_steps} steps of {config.batch_size} on the "
         f"general stand-in's images (lr {config.pretrain_learning_rate:g}, plain template; LLM and tower frozen)")
    # as recipes/pretrain_connector.sh (LLaVA-1.5's pretrain.sh) runs it, with no checkpoints: LLaVA's stage-1
    # checkpoints hold the connector only and cannot be resumed
    data_args = ["--data_path", str(data.color_json), "--image_folder", str(data.color_json.parent / "images")]
    command = _launcher_command(assets.llm_dir, "plain", data_args, assets.vision_tower, stage1_dir,
                                config.pretrain_steps, config.seed, config.pretrain_learning_rate, config.batch_size,
                                "--tune_mm_mlp_adapter", "True", "--weight_decay", "0.", "--warmup_ratio", "0.03",
                                "--lr_scheduler_type", "cosine", "--save_strategy", "no")
    losses = run_training(command, log.path, echo, show=False, progress_label="stage 1 ", progress_lines=2)
    adapter = stage1_dir / "mm_projector.safetensors"  # the .safetensors twin of stage 1's .bin holds no code
    echo(f"      loss {losses[0]:.3f} -> {losses[-1]:.3f}; wrote {adapter.relative_to(workdir)}, which every "
         "stage-2 run below (and the untrained model it starts from) loads as its connector")
    return adapter


def _train_evaluate_diagnose(config, workdir, assets, data, log, echo, host: ModelHost) -> DemoResult:
    recipe = data_recipe(GENERAL_RECIPE)
    joint_dir = run_dir(workdir, "socialfusion-lora")
    deepspeed = config.deepspeed
    if deepspeed:
        blocker = host.deepspeed_cpu_blocker()
        if blocker is not None:
            echo(f"      DeepSpeed cannot run on this machine ({blocker}); the demo trains without it")
            deepspeed = None
    how = f"DeepSpeed {deepspeed}" if deepspeed else "no DeepSpeed"
    adapter = _stage1(config, workdir, assets, data, log, echo)

    def stage2_command(recipe, run: Path, steps: int, deepspeed: Optional[str], save_steps=None) -> List[str]:
        return train_command(assets.llm_dir, assets.vision_tower, ["--data_recipe", str(recipe)], run, steps,
                             config.seed, config.learning_rate, deepspeed, save_steps, config.batch_size,
                             config.projector_learning_rate, adapter)

    echo(f"      stage 2: joint training, {config.steps} steps of {config.batch_size} on {recipe.name} on the fly "
         f"({how}, LoRA + connector)")
    command = stage2_command(recipe, joint_dir, config.steps, deepspeed)
    result = DemoResult(run_dir=joint_dir, losses=run_training(command, log.path, echo))
    checkpoints = sorted(joint_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    echo(f"      loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f} over {len(result.losses)} steps; saved "
         f"{joint_dir.name} and {', '.join(p.name for p in checkpoints)}")

    echo(f"[4/{STAGES}] evaluation of the test splits with eval-suite (rank mode for closed sets): the joint model, "
         "and the untrained model it started from -> report, forgetting check, greedy answers")
    untrained_dir = run_dir(workdir, "untrained-lora")
    run_training(untrained_command(command, untrained_dir), log.path, echo, show=False, progress_label=None)
    evaluate_run(untrained_dir, assets.llm_dir, data, log)
    evaluate_run(joint_dir, assets.llm_dir, data, log)
    forgetting_check(joint_dir, assets.llm_dir, data, log)
    result.report = report(joint_dir, log, echo)
    result.answers = color_answers(joint_dir, assets.llm_dir, data, host)
    echo("      greedy answers of the reloaded run on colored squares of the general data (expected -> answer): "
         + ", ".join(f"{a['expected']} -> {a['answer']!r}" for a in result.answers))

    singles: Dict[str, Path] = {}
    if config.transfer:
        echo(f"[5/{STAGES}] single-task baselines ({config.single_task_steps} steps each on single_<task>.yaml) "
             "-> transfer table")
        for task in TASK_NAMES:
            single_dir = run_dir(workdir, f"{task}-lora")
            command = stage2_command(data_recipe(f"single_{task}"), single_dir, config.single_task_steps, None,
                                     save_steps=config.single_task_steps)
            run_training(command, log.path, echo, show=False, progress_label=f"{task:<10} ", progress_lines=3)
            evaluate_run(single_dir, assets.llm_dir, data, log, tasks=(task,))
            log.run(["report", single_dir])
            singles[task] = single_dir
        result.transfer = transfer(joint_dir, singles, log, echo)
    else:
        echo(f"[5/{STAGES}] single-task baselines skipped (--no-transfer)")

    if config.diagnose:
        echo(f"[6/{STAGES}] diagnostics: linear probes on the frozen tower, gradient conflict between tasks")
        probe(workdir, assets.vision_tower, data, log, echo)
        conflict(workdir, checkpoints, assets.llm_dir, data, log, echo)
    else:
        echo(f"[6/{STAGES}] diagnostics skipped (--no-diagnose)")

    echo(f"[7/{STAGES}] results: each task's primary metric on its test split (chance: one fixed answer for every "
         "sample, the training split's most frequent answer or mean point)")
    result.results = results(data, joint_dir, untrained_dir, singles, workdir, config.seed, echo)
    return result


def evaluate_run(run_dir: Path, llm_dir: Path, data: DemoData, log: CommandLog, tasks=TASK_NAMES) -> None:
    """`eval-suite` of every task's test split: RUN/eval/<task>.preds.jsonl and RUN/eval/results.md."""
    log.run(["eval-suite", "--model-path", run_dir, "--model-base", llm_dir, "--tasks", *tasks,
             "--data-root", data.data_root, "--batch-size", "4", "--max-new-tokens", "12", "--no-progress"])


def forgetting_check(run_dir: Path, llm_dir: Path, data: DemoData, log: CommandLog) -> None:
    eval_dir = run_dir / "eval"
    log.run(["eval", "--model-path", llm_dir, "--mode", "loss", "--data", data.heldout_text, "--text-only",
             "--out", eval_dir / "general.base.loss.json", "--no-progress"])
    log.run(["eval", "--model-path", run_dir, "--model-base", llm_dir, "--mode", "loss", "--data",
             data.heldout_text, "--text-only", "--out", eval_dir / "general.loss.json", "--no-progress"])


def report(run_dir: Path, log: CommandLog, echo) -> Dict:
    log.run(["report", run_dir])
    result = json.loads((run_dir / "eval" / "report.json").read_text(encoding="utf-8"))
    for task, entry in result["tasks"].items():
        metrics = entry.get("metrics", {})
        names = TASKS.get(task).metric_names
        shown = ", ".join(f"{k} {metrics[k]:.3f}" for k in names if isinstance(metrics.get(k), (int, float)))
        echo(f"      {task:<10} n={entry['n']:<2} unparsed={entry['unparsed']:<2} {shown}")
    forgetting = result.get("forgetting", {})
    if forgetting.get("delta_loss") is not None:
        echo(f"      forgetting check on held-out text-only samples: loss change {forgetting['delta_loss']:+.3f} "
             f"(trained - base)")
    echo(f"      report: {run_dir / 'eval' / 'report.md'} (+ per-class recall and confusion PNGs)")
    return result


def color_answers(run_dir: Path, llm_dir: Path, data: DemoData, host: InferenceHost) -> List[dict]:
    """Greedy answers about colored squares of the general data, through the host's loader (LLaVA's own)."""
    from PIL import Image

    records = json.loads(data.color_json.read_text(encoding="utf-8"))[:4]
    for record in records:
        record["image"] = str((data.color_json.parent / "images" / record["image"]).resolve())
        record["meta"] = {"task": "colors"}
    data.color_json.with_name("color_check.json").write_text(json.dumps(records), encoding="utf-8")
    with quiet_output(io.StringIO()):
        loaded = host.load(run_dir, str(llm_dir))
    answers = []
    for record in records:
        question = record["conversations"][0]["value"].replace("<image>\n", "")
        text, = host.generate(loaded, [question], [Image.open(record["image"]).convert("RGB")], max_new_tokens=6)
        answers.append({"id": record["id"], "expected": record["conversations"][1]["value"], "answer": text})
    return answers


def transfer(joint_run: Path, single_runs: Dict[str, Path], log: CommandLog, echo) -> Dict:
    argv = ["transfer", "--joint", joint_run]
    for task, run in single_runs.items():
        argv += ["--single", f"{task}={run}"]
    log.run(argv)
    echo(f"      transfer table: {joint_run / 'eval' / 'transfer.md'} (what it shows, with its noise: stage 7)")
    return json.loads((joint_run / "eval" / "transfer.json").read_text(encoding="utf-8"))


def probe(workdir: Path, vision_tower: str, data: DemoData, log: CommandLog, echo) -> None:
    out = workdir / "diagnose" / "probe"
    argv = ["probe", "--encoders", vision_tower, "--tasks", *TASK_NAMES, "--out", out, "--layers", "-1", "-2",
            "--pooling", "mean", "--region", "full", "region", "--cache-dir", workdir / "cache" / "probe",
            "--no-progress", "--workers", "1"]
    for task in TASK_NAMES:
        argv += ["--train", f"{task}={data.converted[task]['train']}",
                 "--test", f"{task}={data.converted[task]['test']}", "--image-folder", f"{task}={data.roots[task]}"]
    log.run(argv)
    echo(f"      probe table: {out / 'probe_results.md'} (+ probe_chart.png, probe_layers.png)")


def conflict(workdir: Path, checkpoints: List[Path], llm_dir: Path, data: DemoData, log: CommandLog, echo) -> None:
    out = workdir / "diagnose" / "conflict"
    argv = ["conflict", "--model-path", *checkpoints, "--model-base", llm_dir, "--tasks", *TASK_NAMES,
            "--batches", "2", "--batch-size", "2", "--out", out, "--no-progress"]
    for task in TASK_NAMES:
        argv += ["--data", f"{task}={data.converted[task]['train']}", "--image-folder", f"{task}={data.roots[task]}"]
    log.run(argv)
    result = json.loads((out / "conflict.json").read_text(encoding="utf-8"))
    for checkpoint in result["checkpoints"]:
        overall = checkpoint["groups"]["all"]
        echo(f"      {Path(checkpoint['model_path']).name:<14} mean cosine {overall['mean_cosine']:+.3f}, "
             f"negative task pairs {overall['negative_share']:.0%}")
    echo(f"      conflict: {out / 'conflict.json'} (+ heatmaps, trend plot)")


def results(data: DemoData, joint_run: Path, untrained_run: Path, single_runs: Dict[str, Path], workdir: Path,
            seed: int, echo) -> List[results_table.TaskResult]:
    rows = []
    for task in TASK_NAMES:
        predictions = {"untrained": untrained_run / "eval" / f"{task}.preds.jsonl",
                       "joint": joint_run / "eval" / f"{task}.preds.jsonl",
                       "single": single_runs[task] / "eval" / f"{task}.preds.jsonl" if task in single_runs else None}
        rows.append(results_table.task_result(task, data.converted[task]["test"], data.converted[task]["train"],
                                              predictions, seed))
    for line in results_table.table_lines(rows) + results_table.summary_lines(rows):
        echo("      " + line)
    path = results_table.write(rows, workdir)
    echo(f"      results: {path} (+ results.json)")
    return rows


# ---- training: LLaVA's train() through the launcher, in a separate process (as users run it), with its
# progress on the console

def _launcher_command(llm_dir: Path, version: str, data_args: List[str], vision_tower: str, run_dir: Path,
                      steps: int, seed: int, learning_rate: float, batch_size: int, *flags: str) -> List[str]:
    """The flags both stages share (float32: a CPU gains nothing from bf16, which the GPU recipes use, and
    the tiny model's small updates are kept exactly), then the stage's own `flags`."""
    return [
        sys.executable, "-m", "socialfusion_plugin.train",
        "--model_name_or_path", str(llm_dir), "--version", version, *data_args,
        "--vision_tower", vision_tower, "--mm_vision_select_layer", "-2", "--mm_projector_type", "mlp2x_gelu",
        "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False",
        "--learning_rate", str(learning_rate), "--bf16", "False",
        "--max_steps", str(steps), "--per_device_train_batch_size", str(batch_size),
        "--logging_steps", "1", "--model_max_length", "512", "--dataloader_num_workers", "0", "--report_to", "none",
        *flags, "--seed", str(seed), "--output_dir", str(run_dir),
    ]


def train_command(llm_dir: Path, vision_tower: str, data_args: List[str], run_dir: Path, steps: int, seed: int,
                  learning_rate: float, deepspeed: Optional[str], save_steps: Optional[int] = None,
                  batch_size: int = 8, projector_learning_rate: Optional[float] = None,
                  pretrain_adapter: Optional[Path] = None) -> List[str]:
    projector_lr = learning_rate if projector_learning_rate is None else projector_learning_rate
    command = _launcher_command(llm_dir, "v1", data_args, vision_tower, run_dir, steps, seed, learning_rate,
                                batch_size, "--lora_enable", "True", "--lora_r", "8", "--lora_alpha", "16",
                                "--mm_projector_lr", str(projector_lr), "--save_strategy", "steps",
                                "--save_steps", str(save_steps or max(1, steps // 2)),
                                "--group_by_modality_length", "True")
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
        if not text.startswith(("{'loss'", '{"loss"')):
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


def run_training(command: List[str], log_path: Path, echo, show: bool = True, progress_label: Optional[str] = "",
                 progress_lines: int = PROGRESS_LINES) -> List[float]:
    """Run one training in this process's environment (which holds the demo's data and cache roots while
    it runs); show the trainable-parameter report (show=True) and progress lines (progress_label None:
    none); return the logged losses."""
    # one thread per training process, for single_thread()'s reasons; a value the user set is kept
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
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
