"""The demo's results: per task its primary metric for the untrained model, the joint model, the
single-task model and chance, each with its unparsed answers, and how sure each comparison is, as
a console table and as results.md / results.json in the demo folder.

The numbers and verdicts are `socialfusion compare`'s (evaluation/compare.py): 95% bootstrap
intervals over the test samples, paired differences, and no verdict at all for a side whose answers
are mostly unparsed. This module only lays them out in the demo's columns and words."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from ..atomic_files import atomic_write_json, atomic_write_text
from ..evaluation import compare
from ..registry import TASKS
from ..evaluation.scoring import load_references

COLUMNS = ("untrained", "joint", "single", "chance")
RESAMPLES = 400  # bootstrap draws: enough for a 95% interval on the demo's ~24 test samples, and quick
COMPARISONS = (("joint", "untrained"), ("joint", "chance"), ("joint", "single"))
# (better, worse) words of each comparison's verdict
WORDS = {"joint-untrained": ("above untrained", "below untrained"), "joint-chance": ("above chance", "below chance"),
         "joint-single": ("positive transfer", "negative transfer")}


@dataclass
class TaskResult(compare.TaskComparison):
    """A task's comparison, read in the demo's columns."""

    @property
    def values(self) -> Dict[str, Optional[float]]:
        return {c: self.sides[c].value if c in self.sides else None for c in COLUMNS}

    @property
    def unparsed(self) -> Dict[str, Optional[int]]:
        """Answers without a parseable answer (unparsed or missing) per column; None: not run."""
        return {c: self.sides[c].unanswered if c in self.sides else None for c in COLUMNS}

    @property
    def differences(self) -> Dict[str, compare.Pair]:
        return {f"{p.first}-{p.second}": p for p in self.pairs}


def task_result(task_name: str, test_json: Path, train_json: Path, predictions: Dict[str, Optional[Path]],
                seed: int) -> TaskResult:
    """predictions: column -> predictions file of that evaluation (None: not run)."""
    task = TASKS.get(task_name)
    references = load_references(test_json, task)
    sides: Dict[str, List[compare.ScoredRun]] = {column: [compare.parse_predictions_file(task, references, path)]
                                                 for column, path in predictions.items() if path is not None}
    chance_side, answer = compare.chance_run(task, references, train_json)
    sides[compare.CHANCE] = [chance_side]
    pairs = [(a, b) for a, b in COMPARISONS if a in sides and b in sides]
    return TaskResult(**vars(compare.compare_task(task, sides, pairs, seed=seed, resamples=RESAMPLES,
                                                  chance_answer=answer)))


def _cell(r: TaskResult, column: str) -> str:
    """"0.456 (3/24)": the value and its unparsed answers of all answers; "n/a" when not run."""
    side = r.sides.get(column)
    return "n/a" if side is None else f"{compare.side_value_text(side)} ({side.unparsed_text()})"


def table_lines(results: List[TaskResult]) -> List[str]:
    lines = [f"{'task':<11}{'metric':<10}{'n':>4}  " + "".join(f"{c:>15}" for c in COLUMNS)]
    lines += [f"{r.task:<11}{r.metric:<10}{r.n:>4}  " + "".join(f"{_cell(r, c):>15}" for c in COLUMNS) for r in results]
    return lines + ["(in brackets: unparsed or missing answers of all answers)"]


def verdict(pair: Optional[compare.Pair], better: str, worse: str) -> str:
    """The pair's verdict in the demo's words: `better`/`worse` only outside the noise, and never
    for a side without parseable answers."""
    if pair is None:
        return "not measurable (metric undefined)"
    if pair.verdict in (compare.WITHIN_NOISE, compare.NO_PARSEABLE, compare.NOT_MEASURABLE):
        return pair.describe()
    return f"{better if pair.better else worse}: {pair.interval_text()}"


def summary_lines(results: List[TaskResult]) -> List[str]:
    lines = []
    for r in results:
        for index, (first, second) in enumerate(COMPARISONS):
            key = f"{first}-{second}"
            if key == "joint-single" and key not in r.differences:
                continue
            head = f"{r.task:<11}" if index == 0 else f"{'':<11}"
            lines.append(f"{head}{f'{first} vs {second}':<19}{verdict(r.differences.get(key), *WORDS[key])}")
    return lines


def _comparisons_json(r: TaskResult) -> Dict:
    return {key: {"difference": p.value, "low": p.low, "high": p.high, "n": p.n, "within_noise": p.within_noise,
                  "verdict": p.verdict, "text": verdict(p, *WORDS[key])} for key, p in r.differences.items()}


def to_json(results: List[TaskResult]) -> Dict:
    return {"columns": list(COLUMNS),
            "chance": "score of one fixed answer for every test sample: the training split's most frequent "
                      "answer (mean point for gaze tasks)",
            "intervals": f"95% paired bootstrap over the test samples ({RESAMPLES} draws)",
            "unparsed": compare.threshold_note(), "mostly_unparsed_threshold": compare.MOSTLY_UNPARSED,
            "tasks": [{"task": r.task, "metric": r.metric, "n": r.n, "values": r.values, "unparsed": r.unparsed,
                       "chance_answer": r.chance_answer, "comparisons": _comparisons_json(r)}
                      for r in results]}


def to_markdown(results: List[TaskResult]) -> str:
    lines = ["| task | metric | n | " + " | ".join(COLUMNS) + " |", "|---|---|---|" + "---|" * len(COLUMNS)]
    lines += [f"| {r.task} | {r.metric} | {r.n} | " + " | ".join(_cell(r, c) for c in COLUMNS) + " |" for r in results]
    lines += ["", "In brackets: unparsed or missing answers of all answers. chance: one fixed answer for every test "
              "sample (the training split's most frequent answer; mean point for gaze tasks), scored by the task's "
              "scorer.", "", compare.threshold_note() + ".", "",
              "Comparisons (95% paired bootstrap intervals over the test samples):", ""]
    lines += [f"    {line}" for line in summary_lines(results)]
    return "\n".join(lines) + "\n"


def write(results: List[TaskResult], out_dir: Path) -> Path:
    atomic_write_json(Path(out_dir) / "results.json", to_json(results), indent=1)
    return atomic_write_text(Path(out_dir) / "results.md", to_markdown(results))
