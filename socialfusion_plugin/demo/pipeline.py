"""`socialfusion demo`: the whole pipeline on generated data, on a CPU, with no downloads.

1. tiny offline models (LLaMA + tokenizer, open_clip tower; random, seeded);
2. releases of the five datasets in their original formats with every label visible in the image
   (cue_releases), converted; a generated stand-in for the general instruction data; the SHIPPED
   recipe social5_general.yaml mixed and validated;
3. LLaVA-1.5's two training stages: the connector alone on the stand-in's images
   (recipes/pretrain_connector.sh's settings), then joint training on that recipe on the fly through
   the launcher, starting its connector from stage 1 (DeepSpeed ZeRO-2, LoRA + connector, frozen tower);
4. evaluation of every task for the joint model and the untrained model it started from, the report
   with the forgetting check, greedy answers reloaded through LLaVA's loader;
5. single-task runs on the shipped single_<task>.yaml recipes and the transfer table;
6. diagnostics: linear probes on the frozen tower, gradient conflict on the run's checkpoints;
7. the results table (untrained, joint, single-task and chance per task), each comparison with its 95%
   interval over the test samples (results_table.py). The releases hold tens of samples per task, so
   the intervals are wide: joint vs single-task is usually within noise, and the demo says so.

Every step is a `socialfusion` sub-command run in-process, so what the demo shows is what the CLI
does; the command runner (`socialfusion`'s own `main`) is passed in, so the demo never imports the CLI
that runs it. The demo writes only into a folder it created (workdir.py).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..data_layout import DataLayout
from ..errors import CommandError, UserInputError
from ..host_interface import InferenceHost, ModelHost, active_host
from ..registry import TASKS
from ..resources import data_recipe
from . import defaults, results_table, stage_train
from .cue_releases import CueReleaseSizes, write_cue_releases
from .synthetic_data import write_arithmetic_dataset, write_color_dataset
from .tiny_assets import TinyLlmShape, build_tiny_assets
from .workdir import claim_workdir, run_dir

STAGES = 7
TASK_NAMES = ("gesture", "relation", "gaze", "gaze_video", "emotion")
GENERAL_RECIPE = "social5_general"

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
    log_path: Optional[Path] = None


@dataclass
class DemoData:
    data_root: Path  # $SOCIALFUSION_DATA of the shipped recipes
    roots: Dict[str, Path]  # task -> dataset root (the release)
    converted: Dict[str, Dict[str, Path]]  # task -> split -> converted JSON (absolute image paths)
    color_json: Path  # general data with images (the learning check)
    heldout_text: Path  # text-only general samples never trained on (the forgetting check)


class DemoStepError(CommandError):
    """A demo step's command failed; the message names the command and the log."""


@dataclass(frozen=True)
class CommandLog(os.PathLike):
    """The demo's log file (it stands for its path wherever a path is taken) and the runner of the
    `socialfusion` commands whose output goes into it."""
    path: Path
    run_command: Callable[[List[str]], int]

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


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


def run_cli(argv: List, log: CommandLog) -> None:
    """Run `socialfusion <argv>`; its stdout and stderr are appended to the log."""
    out, err = io.StringIO(), io.StringIO()
    with quiet_output(out, err):
        code = log.run_command([str(a) for a in argv])
    with open(log.path, "a", encoding="utf-8") as handle:
        handle.write(f"$ socialfusion {' '.join(str(a) for a in argv)}\n{out.getvalue()}{err.getvalue()}\n")
    if code != 0:
        tail = (out.getvalue() + err.getvalue()).strip().splitlines()[-15:]
        raise DemoStepError(f"socialfusion {argv[0]} failed (exit {code}); see {log.path}:\n" + "\n".join(tail))


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


@contextlib.contextmanager
def single_thread():
    """Evaluation runs in this process: the tiny model gains nothing from a second thread, and one
    thread keeps the demo from competing with itself on a shared machine. A user's
    OMP_NUM_THREADS is kept."""
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        yield
        return
    threads = torch.get_num_threads()
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
    stand_in = llava / "llava_v1_5_mix665k.json"
    stand_in.write_text(json.dumps(records + sums, indent=1) + "\n", encoding="utf-8")
    return colors


def prepare_data(workdir: Path, llm_dir: Path, seed: int, log: CommandLog, echo, sizes: CueReleaseSizes) -> DemoData:
    data_root = workdir / "data"
    layout = DataLayout(data_root)  # where every command looks for the converted splits
    roots = write_cue_releases(data_root, seed, sizes)
    color_json = write_general_data(data_root, seed)
    heldout = write_arithmetic_dataset(workdir / "heldout" / "sums.json", count=8, seed=seed + 1)
    echo(f"      releases: {', '.join(f'{t}={p.name}/' for t, p in roots.items())} under {data_root}")
    converted: Dict[str, Dict[str, Path]] = {}
    for task in TASK_NAMES:
        converted[task] = {}
        for split in ("train", "test"):
            out, report = layout.converted(task, split), layout.report(task, split)
            run_cli(["convert", task, "--root", roots[task], "--split", split, "--out", out, "--report", report,
                     "--absolute-paths", "--no-progress", "--workers", "1"], log)
            counts = json.loads(report.read_text())
            reasons = ", ".join(f"{n} {r}" for r, n in counts["skip_reasons"].items()) or "none"
            echo(f"      convert {task:<10} {split:<5} read {counts['read']:>2}, converted {counts['converted']:>2}, "
                 f"skipped {counts['skipped']:>2} ({reasons})")
            converted[task][split] = out
    merged = workdir / "mixed" / "social5_general.json"
    run_cli(["mix", data_recipe(GENERAL_RECIPE), "--out", merged, "--cache-dir", workdir / "cache" / "data",
             "--no-progress", "--workers", "1"], log)
    manifest = json.loads(merged.with_name(merged.stem + ".manifest.json").read_text())
    counts = ", ".join(f"{s['name']} {s['in_mixture']}" for s in manifest["sources"])
    echo(f"      mix {data_recipe(GENERAL_RECIPE).name}: {counts} -> {merged}")
    run_cli(["validate", merged, "--image-folder", "/", "--model", llm_dir, "--version", "v1",
             "--model-max-length", "512", "--image-tokens", "16", "--report", merged.with_suffix(".validation.json"),
             "--no-progress", "--workers", "1"], log)
    echo("      validate: no findings (images, <image> tokens, turns, label masking, length)")
    return DemoData(data_root=data_root, roots=roots, converted=converted, color_json=color_json, heldout_text=heldout)


def _stage1(config, workdir, assets, data, env, log, echo) -> Optional[Path]:
    """Stage 1 on the general stand-in's images (its text-only samples have nothing to align); returns the
    projector every stage-2 run (joint, untrained, single-task) starts from, or None when skipped."""
    if config.pretrain_steps == 0:
        echo(f"[3/{STAGES}] stage 1 skipped (pretrain_steps 0): every run starts its connector from random "
             "weights, on purpose")
        return None
    stage1_dir = run_dir(workdir, "connector-pretrain")
    echo(f"[3/{STAGES}] stage 1: the connector alone, {config.pretrain_steps} steps of {config.batch_size} on the "
         f"general stand-in's images (lr {config.pretrain_learning_rate:g}, plain template; LLM and tower frozen)")
    command = stage_train.pretrain_command(assets.llm_dir, assets.vision_tower, data.color_json,
                                           data.color_json.parent / "images", stage1_dir, config.pretrain_steps,
                                           config.seed, config.pretrain_learning_rate, batch_size=config.batch_size)
    losses = stage_train.run_training(command, log, echo, env, show=False, progress_label="stage 1 ",
                                      progress_lines=2)
    adapter = stage1_dir / "mm_projector.safetensors"  # the .safetensors twin of stage 1's .bin holds no code
    echo(f"      loss {losses[0]:.3f} -> {losses[-1]:.3f}; wrote {adapter.relative_to(workdir)}, which every "
         "stage-2 run below (and the untrained model it starts from) loads as its connector")
    return adapter


def _train_evaluate_diagnose(config, workdir, assets, data, env, log, echo, host: ModelHost) -> DemoResult:
    recipe = data_recipe(GENERAL_RECIPE)
    joint_dir = run_dir(workdir, "socialfusion-lora")
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
    command = stage_train.train_command(assets.llm_dir, assets.vision_tower, ["--data_recipe", str(recipe)], joint_dir,
                                        config.steps, config.seed, config.learning_rate, deepspeed,
                                        batch_size=config.batch_size,
                                        projector_learning_rate=config.projector_learning_rate,
                                        pretrain_adapter=adapter)
    result = DemoResult(run_dir=joint_dir, losses=stage_train.run_training(command, log, echo, env))
    checkpoints = stage_train.checkpoints(joint_dir)
    echo(f"      loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f} over {len(result.losses)} steps; saved "
         f"{joint_dir.name} and {', '.join(p.name for p in checkpoints)}")

    echo(f"[4/{STAGES}] evaluation of the test splits with eval-suite (rank mode for closed sets): the joint model, "
         "and the untrained model it started from -> report, forgetting check, greedy answers")
    untrained_dir = run_dir(workdir, "untrained-lora")
    stage_train.run_training(stage_train.untrained_command(command, untrained_dir), log, echo, env, show=False,
                             progress_label=None)
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
            command = stage_train.train_command(
                assets.llm_dir, assets.vision_tower, ["--data_recipe", str(data_recipe(f"single_{task}"))],
                single_dir, config.single_task_steps, config.seed, config.learning_rate, None,
                save_steps=config.single_task_steps, batch_size=config.batch_size,
                projector_learning_rate=config.projector_learning_rate, pretrain_adapter=adapter)
            stage_train.run_training(command, log, echo, env, show=False, progress_label=f"{task:<10} ",
                                     progress_lines=3)
            evaluate_run(single_dir, assets.llm_dir, data, log, tasks=(task,))
            run_cli(["report", single_dir], log)
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
    """`eval-suite` over the data layout: one model load for every task's test split, rank mode
    where the task has answer options, generation otherwise; RUN/eval/<task>.preds.jsonl and the
    results table RUN/eval/results.md."""
    run_cli(["eval-suite", "--model-path", run_dir, "--model-base", llm_dir, "--tasks", *tasks,
             "--data-root", data.data_root, "--batch-size", "4", "--max-new-tokens", "12", "--no-progress"], log)


def forgetting_check(run_dir: Path, llm_dir: Path, data: DemoData, log: CommandLog) -> None:
    eval_dir = run_dir / "eval"
    run_cli(["eval", "--model-path", llm_dir, "--mode", "loss", "--data", data.heldout_text, "--text-only",
             "--out", eval_dir / "general.base.loss.json", "--no-progress"], log)
    run_cli(["eval", "--model-path", run_dir, "--model-base", llm_dir, "--mode", "loss", "--data",
             data.heldout_text, "--text-only", "--out", eval_dir / "general.loss.json", "--no-progress"], log)


def report(run_dir: Path, log: CommandLog, echo) -> Dict:
    run_cli(["report", run_dir], log)
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
    """The transfer table (`socialfusion transfer`); what it shows, with its noise, is said in the
    results stage."""
    argv = ["transfer", "--joint", joint_run]
    for task, run in single_runs.items():
        argv += ["--single", f"{task}={run}"]
    run_cli(argv, log)
    echo(f"      transfer table: {joint_run / 'eval' / 'transfer.md'} (what it shows, with its noise: stage 7)")
    return json.loads((joint_run / "eval" / "transfer.json").read_text(encoding="utf-8"))


def probe(workdir: Path, vision_tower: str, data: DemoData, log: CommandLog, echo) -> None:
    """Linear-probe decodability of every task from the frozen tower."""
    out = workdir / "diagnose" / "probe"
    argv = ["probe", "--encoders", vision_tower, "--tasks", *TASK_NAMES, "--out", out, "--layers", "-1", "-2",
            "--pooling", "mean", "--region", "full", "region", "--cache-dir", workdir / "cache" / "probe",
            "--no-progress", "--workers", "1"]
    for task in TASK_NAMES:
        argv += ["--train", f"{task}={data.converted[task]['train']}",
                 "--test", f"{task}={data.converted[task]['test']}", "--image-folder", f"{task}={data.roots[task]}"]
    run_cli(argv, log)
    echo(f"      probe table: {out / 'probe_results.md'} (+ probe_chart.png, probe_layers.png)")


def conflict(workdir: Path, checkpoints: List[Path], llm_dir: Path, data: DemoData, log: CommandLog, echo) -> None:
    """Gradient conflict between the five tasks on the run's checkpoints."""
    out = workdir / "diagnose" / "conflict"
    argv = ["conflict", "--model-path", *checkpoints, "--model-base", llm_dir, "--tasks", *TASK_NAMES,
            "--batches", "2", "--batch-size", "2", "--out", out, "--no-progress"]
    for task in TASK_NAMES:
        argv += ["--data", f"{task}={data.converted[task]['train']}", "--image-folder", f"{task}={data.roots[task]}"]
    run_cli(argv, log)
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
