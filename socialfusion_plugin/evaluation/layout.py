"""Where evaluation outputs live inside a run folder (what `report` and `transfer` read):

RUN/eval/<task>.preds.jsonl       predictions, one JSON line per record ({"id", "text", ["scores"]})
RUN/eval/<task>.eval.json         how they were made: data file, image folder, task options, mode, model
RUN/eval/<task>.metrics.json      `score` output for the task
RUN/eval/general.loss.json        forgetting check: loss/perplexity of the trained checkpoint
RUN/eval/general.base.loss.json   the same for the base model
RUN/eval/report.json, report.md   every task's metrics + the forgetting check
RUN/eval/<task>.<kind>.png (+ .pdf) charts: confusion, the per-class metric (ap, recall), error
RUN/eval/results.json, results.md, results.csv   `eval-suite`'s results table
RUN/eval/shards/                  per-process predictions of a many-process `eval-suite` (until merged)

A command given the eval folder itself (RUN/eval, a results folder) reads it as well: a folder with
no eval/ inside that holds predictions or a results table is taken as the eval folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List

EVAL_DIR = "eval"


def _task_file(suffix: str) -> Callable[["RunLayout", str], Path]:
    return lambda layout, task: layout.eval_dir / f"{task}.{suffix}"


def _run_file(name: str) -> property:
    return property(lambda layout: layout.eval_dir / name)


@dataclass(frozen=True)
class RunLayout:
    run_dir: Path

    def __post_init__(self):
        object.__setattr__(self, "run_dir", Path(self.run_dir))

    @property
    def eval_dir(self) -> Path:
        nested = self.run_dir / EVAL_DIR
        if not nested.is_dir() and _is_eval_folder(self.run_dir):
            return self.run_dir
        return nested

    predictions = _task_file("preds.jsonl")
    eval_info = _task_file("eval.json")
    metrics = _task_file("metrics.json")
    general_loss = _run_file("general.loss.json")
    general_base_loss = _run_file("general.base.loss.json")
    report_json = _run_file("report.json")
    report_md = _run_file("report.md")

    def chart(self, task: str, kind: str) -> Path:
        return self.eval_dir / f"{task}.{kind}.png"

    def evaluated_tasks(self) -> List[str]:
        """Tasks with a predictions file, sorted by name."""
        if not self.eval_dir.is_dir():
            return []
        return sorted(p.name[: -len(".preds.jsonl")] for p in self.eval_dir.glob("*.preds.jsonl"))


def _is_eval_folder(folder: Path) -> bool:
    return folder.is_dir() and ((folder / "results.json").is_file() or any(folder.glob("*.preds.jsonl")))
