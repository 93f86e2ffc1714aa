"""Demo evaluation: every task's test split (rank mode for closed sets, generation for gaze
points), scored into a report with the forgetting check, the color check, the transfer table, and
the results table with its noise (results_table.py)."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Dict, List

from ..host_interface import InferenceHost
from ..registry import TASKS
from . import results_table
from .cli_calls import CommandLog, run_cli  # noqa: F401  (the pipeline runs `report` through it too)
from .stage_data import TASK_NAMES, DemoData


def evaluate_run(run_dir: Path, llm_dir: Path, data: DemoData, log: CommandLog, tasks=TASK_NAMES) -> Path:
    """`eval-suite` over the data layout: one model load for every task's test split, rank mode
    where the task has answer options, generation otherwise; RUN/eval/<task>.preds.jsonl and the
    results table RUN/eval/results.md."""
    run_cli(["eval-suite", "--model-path", run_dir, "--model-base", llm_dir, "--tasks", *tasks,
             "--data-root", data.data_root, "--batch-size", "4", "--max-new-tokens", "12", "--no-progress"], log)
    return run_dir / "eval"


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


def color_answers(run_dir: Path, llm_dir: Path, data: DemoData, log: CommandLog, host: InferenceHost) -> List[dict]:
    """Greedy answers about colored squares of the general data, through the host's loader (LLaVA's own)."""
    records = json.loads(data.color_json.read_text(encoding="utf-8"))[:4]
    probe = data.color_json.with_name("color_check.json")
    for record in records:
        record["image"] = str((data.color_json.parent / "images" / record["image"]).resolve())
        record["meta"] = {"task": "colors"}
    probe.write_text(json.dumps(records), encoding="utf-8")
    from PIL import Image

    from .cli_calls import quiet_host_output

    with quiet_host_output():
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


def results(data: DemoData, joint_run: Path, untrained_run: Path, single_runs: Dict[str, Path], workdir: Path,
            seed: int, echo) -> List[results_table.TaskResult]:
    rows = []
    for task in TASK_NAMES:
        predictions = {"untrained": untrained_run / "eval" / f"{task}.preds.jsonl",
                       "joint": joint_run / "eval" / f"{task}.preds.jsonl",
                       "single": single_runs[task] / "eval" / f"{task}.preds.jsonl" if task in single_runs else None}
        rows.append(results_table.task_result(task, data.converted[task]["test"], data.converted[task]["train"],
                                              predictions, seed))
    for line in results_table.table_lines(rows):
        echo("      " + line)
    for line in results_table.summary_lines(rows):
        echo("      " + line)
    path = results_table.write(rows, workdir)
    echo(f"      results: {path} (+ results.json)")
    return rows


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
