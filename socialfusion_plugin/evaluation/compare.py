"""`socialfusion compare`: evaluations of the same test samples, side by side, with how sure each
number is.

A *side* is one configuration: one run, or several runs of it that differ only in their seed. Per
task and primary metric, each side gets its value on the whole test set (the mean over its runs,
with their standard deviation when there are several) and a 95% bootstrap interval; each pair of
sides gets the difference first - second with its 95% paired-bootstrap interval and a verdict.

The bootstrap (seeded: same inputs and seed, same numbers): the test samples are drawn with
replacement RESAMPLES times, once per task, and every side is scored on the same draws, so a
difference is always paired, over the same samples. A side of several runs is the mean of its runs
on each draw (the pooled interval covers the test-set noise of the seed mean). A metric that is a
mean over samples (accuracy, per-person gaze AUC) is scored once per sample and the draws average
those values; any other metric (mean AP) is recomputed on every draw. Which one applies is checked,
not assumed: per-sample values are used only when their mean reproduces the metric on the whole set.

Verdicts follow the intervals, never the sign alone, and a side whose answers are mostly unparsed
or missing (more than MOSTLY_UNPARSED of them) gets no verdict at all: its metric is the floor
value of the scorer, not a measurement of the model, so any difference with it is reported as
"no parseable answers (k/n)".

The chance side, given a training split: the score of the best answer that ignores the image, i.e. the
same answer for every test sample, taken from the training split: its most frequent answer (closed sets;
for emotion the most frequent category list), or its mean point (gaze tasks, answers "(x, y)"). It is
scored by the task's own scorer, so it is the chance level of exactly the metric shown.

What the command writes: compare.json, compare.md, compare.csv, compare.tex (a LaTeX table for papers)
and compare.png (+ .pdf), a chart of every side's value with its interval. Every table shows the
unparsed answers beside the metric, and the chart, the tables and the printed lines say the same
verdicts from the same Pair objects.
"""
from __future__ import annotations

import csv
import io
import math
import random
import re
import statistics
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import plots, registry
from ..atomic_files import atomic_write_json, atomic_write_text
from ..json_records import read_json_list
from ..tasks.base import Task
from .scoring import load_predictions, load_references, parse_predictions
from .layout import RunLayout
from .provenance import read_info
from socialfusion_plugin.errors import UserInputError

RESAMPLES = 1000
INTERVALS = "95% bootstrap intervals over the test samples; differences are paired (same samples, same draws)"
MOSTLY_UNPARSED = 0.5  # share of unparsed or missing answers above which a side gets no verdict
CHANCE = "chance"  # the name of the chance side
_POINT = re.compile(r"^\(\s*([0-9.]+)\s*,\s*([0-9.]+)\s*\)$")

# verdicts
ABOVE, BELOW, WITHIN_NOISE = "above", "below", "within noise"
NO_PARSEABLE, NOT_MEASURABLE = "no parseable answers", "not measurable"


@dataclass
class ScoredRun:
    """One evaluation's answers, parsed as `score` reads them and aligned with the references: a
    missing or unparseable answer is None (wrong)."""

    source: str  # the run folder or predictions file, for messages and tables
    metas: List[Mapping[str, Any]]
    parsed: List[Any]
    scores: List[Optional[Mapping[str, float]]]
    options: Any  # the task options the answers are parsed and scored with
    unparsed: int = 0
    missing: int = 0

    @property
    def n(self) -> int:
        return len(self.metas)


def parse_run(task: Task, references: Sequence[Mapping[str, Any]], predictions: Mapping[str, Mapping[str, Any]],
              options: Optional[Mapping[str, Any]] = None, source: str = "") -> ScoredRun:
    opts = task.options(options)
    answers = parse_predictions(task, list(references), predictions, opts)
    return ScoredRun(source, [r["meta"] for r in references], answers.parsed, answers.class_scores, opts,
                     answers.unparsed + answers.parser_errors, answers.missing)


def parse_predictions_file(task: Task, references, path: Path, options=None) -> ScoredRun:
    return parse_run(task, references, load_predictions(Path(path)), options, str(path))


def metric(task: Task, run: ScoredRun, name: str, indices: Optional[Sequence[int]] = None) -> Optional[float]:
    indices = range(run.n) if indices is None else indices
    result = task.score([run.metas[i] for i in indices], [run.parsed[i] for i in indices],
                        [run.scores[i] for i in indices], run.options)
    value = result.get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def per_sample(task: Task, run: ScoredRun, name: str, whole: Optional[float] = None) -> Optional[List[Optional[float]]]:
    """Each sample's own value of the metric, when the metric is their mean; otherwise None.
    `whole`: the metric on all samples, when already computed (scoring can be slow: gaze heatmaps)."""
    whole = metric(task, run, name) if whole is None else whole
    with warnings.catch_warnings():  # one-sample AP warns that a class has no positive: expected here
        warnings.simplefilter("ignore")
        values = [metric(task, run, name, [i]) for i in range(run.n)]
    present = [v for v in values if v is not None]
    if whole is None or not present or abs(sum(present) / len(present) - whole) > 1e-9:
        return None
    return values


def bootstrap_draws(n: int, seed: int, key: str, resamples: int = RESAMPLES) -> List[List[int]]:
    """`resamples` draws of n sample indices with replacement; the same (n, seed, key) always give
    the same draws (a string seed is hashed by random.Random the same way on every platform)."""
    rng = random.Random(f"socialfusion-compare:{key}:{seed}")
    return [[rng.randrange(n) for _ in range(n)] for _ in range(resamples)]


def _quantiles(draws: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
    """The 2.5% and 97.5% points of the draws (None, None without any)."""
    if not draws:
        return None, None
    ordered = sorted(draws)
    return ordered[int(0.025 * (len(ordered) - 1))], ordered[int(math.ceil(0.975 * (len(ordered) - 1)))]


def _side_draws(task: Task, runs: Sequence[ScoredRun], wholes: Sequence[Optional[float]], name: str,
                draws: Sequence[Sequence[int]]) -> List[Optional[float]]:
    """The side's metric on every draw: the mean over its runs (None where a run's metric is undefined)."""
    per_run = []
    for run, whole in zip(runs, wholes):
        values = per_sample(task, run, name, whole) if whole is not None else None
        if values is not None:
            present = ([values[i] for i in indices if values[i] is not None] for indices in draws)
            per_run.append([sum(drawn) / len(drawn) if drawn else None for drawn in present])
            continue
        with warnings.catch_warnings():  # a draw without a positive of some class: AP warns, it is left out
            warnings.simplefilter("ignore")
            per_run.append([metric(task, run, name, indices) for indices in draws])
    return [None if None in on_draw else sum(on_draw) / len(on_draw) for on_draw in zip(*per_run)]


@dataclass
class Side:
    """One configuration's result on one task."""

    name: str
    runs: List[str]
    values: List[Optional[float]]  # each run's metric on the whole test set
    low: Optional[float]  # 95% bootstrap interval of the (seed-mean) value
    high: Optional[float]
    n: int  # test samples
    unparsed: int  # summed over the runs
    missing: int

    @property
    def value(self) -> Optional[float]:
        return None if None in self.values else sum(self.values) / len(self.values)

    @property
    def std(self) -> Optional[float]:
        """Standard deviation over the runs (seeds); None for one run."""
        return None if len(self.values) < 2 or None in self.values else statistics.stdev(self.values)

    @property
    def answers(self) -> int:
        return self.n * len(self.runs)

    @property
    def unanswered(self) -> int:
        return self.unparsed + self.missing

    @property
    def mostly_unparsed(self) -> bool:
        return self.unanswered > MOSTLY_UNPARSED * self.answers

    def unparsed_text(self) -> str:
        """"k/n": answers without a parseable answer (unparsed or missing) of all answers."""
        return f"{self.unanswered}/{self.answers}"


@dataclass
class Pair:
    """first - second on one task, over the same test samples."""

    first: str
    second: str
    value: Optional[float]
    low: Optional[float]
    high: Optional[float]
    n: int
    verdict: str  # ABOVE, BELOW, WITHIN_NOISE, NO_PARSEABLE, NOT_MEASURABLE
    better: Optional[bool] = None  # first better than second (direction of the metric applied); None: no verdict
    unparsed_sides: List[Tuple[str, str]] = field(default_factory=list)  # (side, "k/n") of mostly-unparsed sides

    @property
    def within_noise(self) -> bool:
        return self.verdict == WITHIN_NOISE

    def interval_text(self) -> str:
        if self.value is None or self.low is None:
            return "n/a"
        return f"{self.value:+.3f} (95% interval {self.low:+.3f} to {self.high:+.3f}, n={self.n})"

    def unparsed_text(self) -> str:
        """"no parseable answers (k/n) from SIDE" for each mostly-unparsed side."""
        return "; ".join(f"{NO_PARSEABLE} ({count}) from {side}" for side, count in self.unparsed_sides)

    def describe(self) -> str:
        """The verdict in words, e.g. "above: +0.650 (95% interval +0.5 to +0.8, n=40)"."""
        if self.verdict == NO_PARSEABLE:
            return self.unparsed_text()
        if self.verdict == NOT_MEASURABLE:
            return "not measurable (metric undefined)"
        return f"{self.verdict}: {self.interval_text()}"


@dataclass
class TaskComparison:
    task: str
    metric: str
    higher_is_better: bool
    n: int
    sides: Dict[str, Side]
    pairs: List[Pair]
    chance_answer: Optional[str] = None


def _pair(first: Side, second: Side, draws_first, draws_second, higher_is_better: bool) -> Pair:
    bad = [(s.name, s.unparsed_text()) for s in (first, second) if s.mostly_unparsed]
    value = None if first.value is None or second.value is None else first.value - second.value
    differences = [a - b for a, b in zip(draws_first, draws_second) if a is not None and b is not None]
    low, high = _quantiles(differences)
    better = None
    if bad:
        verdict = NO_PARSEABLE
    elif value is None or low is None:
        verdict = NOT_MEASURABLE
    elif low <= 0.0 <= high:
        verdict = WITHIN_NOISE
    else:
        verdict, better = (ABOVE if value > 0 else BELOW), (value > 0) == higher_is_better
    return Pair(first.name, second.name, value, low, high, first.n, verdict, better, bad)


def compare_task(task: Task, sides: Mapping[str, Sequence[ScoredRun]], pairs: Sequence[Tuple[str, str]],
                 seed: int = 0, resamples: int = RESAMPLES, chance_answer: Optional[str] = None) -> TaskComparison:
    """Every side's value and interval, and every pair's paired difference and verdict. All runs
    must hold the same test samples in the same order (compare_runs checks it)."""
    name = task.primary_metric
    n = next(len(runs[0].metas) for runs in sides.values())
    draws = bootstrap_draws(n, seed, task.name, resamples)
    results: Dict[str, Side] = {}
    on_draws: Dict[str, List[Optional[float]]] = {}
    for side, runs in sides.items():
        wholes = [metric(task, r, name) for r in runs]
        on_draws[side] = _side_draws(task, runs, wholes, name, draws)
        low, high = _quantiles([v for v in on_draws[side] if v is not None])
        results[side] = Side(side, [r.source for r in runs], wholes, low, high, n,
                             sum(r.unparsed for r in runs), sum(r.missing for r in runs))
    compared = [_pair(results[a], results[b], on_draws[a], on_draws[b], task.higher_is_better) for a, b in pairs]
    return TaskComparison(task.name, name, task.higher_is_better, n, results, compared, chance_answer)


def chance_run(task: Task, references: Sequence[Mapping[str, Any]], train_json: Path,
               options: Optional[Mapping[str, Any]] = None) -> Tuple[ScoredRun, str]:
    """The chance side: the training split's constant answer for every test sample."""
    answer = constant_answer(training_answers(train_json, task))
    return parse_run(task, references, constant_predictions(list(references), answer), options,
                     f"{CHANCE}: {answer} (from {train_json})"), answer


def training_answers(train_json: Path, task: Task) -> List[str]:
    """The answers (second turn) of `task`'s records in a converted training split."""
    path = Path(train_json)
    answers = []
    for index, record in enumerate(read_json_list(path, "training split", UserInputError)):
        meta = record.get("meta") if isinstance(record, dict) else None
        if not isinstance(meta, dict) or meta.get("task") != task.name:
            continue
        turns = record.get("conversations")
        if not (isinstance(turns, list) and len(turns) > 1 and isinstance(turns[1], dict)
                and isinstance(turns[1].get("value"), str)):
            raise UserInputError(f"{path}: record {index} ({record.get('id')!r}) has no answer turn")
        answers.append(turns[1]["value"])
    if not answers:
        raise UserInputError(f"{path}: no training records of task {task.name!r} to take the chance answer from")
    return answers


def constant_answer(answers: List[str]) -> str:
    """The mean point when most answers are points, else the most frequent answer (ties: first in
    sorted order, so the choice does not depend on the order of the file)."""
    points = [tuple(float(v) for v in m.groups()) for m in (_POINT.match(a.strip()) for a in answers) if m]
    if points and len(points) * 2 > len(answers):
        x, y = (sum(p[i] for p in points) / len(points) for i in (0, 1))
        return f"({x:.2f}, {y:.2f})"
    counts = Counter(answers)
    return min(counts, key=lambda answer: (-counts[answer], answer))


def constant_predictions(references: List[Mapping[str, Any]], answer: str) -> Dict[str, Dict[str, str]]:
    return {str(r["id"]): {"id": r["id"], "text": answer} for r in references}


# --- run folders ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunSpec:
    name: str  # the configuration (side) the run belongs to; runs sharing a name are its seeds
    path: Path


def run_specs(values: Sequence[str]) -> List[RunSpec]:
    """`NAME=RUN` or a bare `RUN` (named after its folder)."""
    specs = []
    for value in values:
        name, _, path = value.partition("=") if "=" in value else ("", "", value)
        folder = Path(path)
        name = name or (folder.name if folder.name != "eval" else folder.parent.name)
        if not name or not path:
            raise UserInputError(f"run {value!r}: write NAME=RUN or RUN")
        if name == CHANCE:
            raise UserInputError(f"run {value!r}: the name {CHANCE!r} is the chance side's; name the run otherwise")
        if not RunLayout(folder).eval_dir.is_dir():
            raise UserInputError(f"run {value!r}: {RunLayout(folder).eval_dir} not found (evaluate the run first)")
        specs.append(RunSpec(name, folder))
    if any(s.path.resolve() == t.path.resolve() for i, s in enumerate(specs) for t in specs[i + 1:]):
        raise UserInputError("the same run folder is given twice: a seed counted twice would shrink the noise")
    return specs


def _run_task(task: Task, spec: RunSpec) -> Tuple[List[Dict[str, Any]], ScoredRun, Dict[str, Any]]:
    """(references, parsed answers, task options) of one run's evaluation of `task`; the references
    are the ones the evaluation was limited to."""
    layout = RunLayout(spec.path)
    info_file = layout.eval_info(task.name)
    info = read_info(info_file) or {}
    if not info.get("data"):
        raise UserInputError(f"{info_file}: missing or without 'data': cannot tell which test samples "
                             f"{spec.path} answered (evaluate with `socialfusion eval` or `eval-suite`)")
    references = load_references(Path(info["data"]), task)
    limit = info.get("limit")
    if isinstance(limit, int) and limit > 0:
        references = references[:limit]
    options = dict(info.get("task_options") or {})
    return references, parse_run(task, references, load_predictions(layout.predictions(task.name)), options,
                                 str(spec.path)), options


@dataclass
class Comparison:
    tasks: List[TaskComparison]
    skipped: List[str]  # "task: why", for tasks not every run evaluated
    seed: int
    resamples: int
    sides: List[str]


def compare_runs(specs: Sequence[RunSpec], tasks: Optional[Sequence[str]] = None,
                 train: Optional[Mapping[str, Path]] = None, seed: int = 0,
                 resamples: int = RESAMPLES) -> Comparison:
    """Compare the runs' evaluations task by task: every pair of sides (in the order given), and
    each side against chance for the tasks with a training split in `train`."""
    if not specs:
        raise UserInputError("no runs to compare")
    if resamples < 10:
        raise UserInputError(f"--resamples must be at least 10, got {resamples}")
    names = list(dict.fromkeys(s.name for s in specs))
    evaluated = {s: set(RunLayout(s.path).evaluated_tasks()) for s in specs}
    skipped: List[str] = []
    if tasks:
        for task_name in tasks:
            registry.TASKS.get(task_name)
            lacking = [str(s.path) for s in specs if task_name not in evaluated[s]]
            if lacking:
                raise UserInputError(f"task {task_name}: no predictions in {', '.join(lacking)}")
        chosen = list(tasks)
    else:
        every = sorted(set.union(*evaluated.values()))
        chosen = [t for t in every if all(t in done for done in evaluated.values())]
        skipped = [f"{t}: not evaluated by {', '.join(str(s.path) for s in specs if t not in evaluated[s])}"
                   for t in every if t not in chosen]
        if not chosen:
            raise UserInputError("no task is evaluated by every run (expected RUN/eval/<task>.preds.jsonl)")
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    results = []
    for task_name in chosen:
        task = registry.TASKS.get(task_name)
        sides: Dict[str, List[ScoredRun]] = {name: [] for name in names}
        first = None  # (spec, ids, options, references) of the first run: every other run must match it
        for spec in specs:
            references, run, options = _run_task(task, spec)
            ids = [str(r["id"]) for r in references]
            first = first or (spec, ids, options, references)
            if ids != first[1]:
                raise UserInputError(f"task {task_name}: {spec.path} answered other test samples than {first[0].path} "
                                     f"({len(ids)} vs {len(first[1])} records, or another order): a comparison "
                                     "needs the same samples")
            if task.options(options) != task.options(first[2]):
                raise UserInputError(f"task {task_name}: {spec.path} was scored with task options {options} and "
                                     f"{first[0].path} with {first[2]}: the metrics are not comparable")
            sides[spec.name].append(run)
        task_pairs = list(pairs)
        answer = None
        if train and task_name in train:
            chance_side, answer = chance_run(task, first[3], Path(train[task_name]), first[2])
            sides[CHANCE] = [chance_side]
            task_pairs += [(name, CHANCE) for name in names]
        results.append(compare_task(task, sides, task_pairs, seed, resamples, answer))
    return Comparison(results, skipped, seed, resamples, names + ([CHANCE] if train else []))


# --- what the command writes and prints ----------------------------------------------------------

def _num(value: Optional[float], form: str = ".3f") -> str:
    return "n/a" if value is None else format(value, form)


def side_value_text(side: Side) -> str:
    """"0.456 ± 0.012" for several seeds, "0.456" for one run."""
    return _num(side.value) + (f" ± {side.std:.3f}" if side.std is not None else "")


def side_interval_text(side: Side) -> str:
    return "n/a" if side.low is None else f"[{side.low:.3f}, {side.high:.3f}]"


def threshold_note() -> str:
    return (f"unparsed: answers the task's parser could not read or that are missing, of all answers; a side with "
            f"more than {MOSTLY_UNPARSED:.0%} of them gets the verdict \"{NO_PARSEABLE} (k/n)\", never above or below "
            "(its metric is the scorer's floor value, not a measurement)")


def to_json(comparison: Comparison) -> Dict[str, Any]:
    return {
        "seed": comparison.seed, "resamples": comparison.resamples, "intervals": INTERVALS,
        "mostly_unparsed_threshold": MOSTLY_UNPARSED, "sides": comparison.sides, "skipped": comparison.skipped,
        "tasks": [task_json(t) for t in comparison.tasks],
    }


def task_json(t: TaskComparison) -> Dict[str, Any]:
    return {
        "task": t.task, "metric": t.metric, "higher_is_better": t.higher_is_better, "n": t.n,
        "chance_answer": t.chance_answer,
        "sides": [{"name": s.name, "runs": s.runs, "value": s.value, "std": s.std, "values": s.values, "low": s.low,
                   "high": s.high, "unparsed": s.unparsed, "missing": s.missing, "answers": s.answers,
                   "mostly_unparsed": s.mostly_unparsed} for s in t.sides.values()],
        "pairs": [{"first": p.first, "second": p.second, "difference": p.value, "low": p.low, "high": p.high,
                   "n": p.n, "verdict": p.verdict, "better": p.better,
                   "unparsed_sides": [{"side": side, "unparsed": count} for side, count in p.unparsed_sides],
                   "text": p.describe()} for p in t.pairs],
    }


def markdown(comparison: Comparison) -> str:
    lines = ["# Comparison", "", f"{INTERVALS} ({comparison.resamples} draws, seed {comparison.seed}).",
             "Several runs of one configuration: mean ± standard deviation over the runs, pooled interval.",
             threshold_note() + ".", ""]
    for t in comparison.tasks:
        arrow = "higher is better" if t.higher_is_better else "lower is better"
        lines += [f"## {t.task}: {t.metric} ({arrow}), n={t.n}", "",
                  "| configuration | runs | value | 95% interval | unparsed |", "| --- | --- | --- | --- | --- |"]
        for s in t.sides.values():
            flag = f" ({NO_PARSEABLE})" if s.mostly_unparsed else ""
            lines.append(f"| {s.name} | {len(s.runs)} | {side_value_text(s)} | {side_interval_text(s)} | "
                         f"{s.unparsed_text()}{flag} |")
        if t.chance_answer is not None:
            lines += ["", f"chance: the answer `{t.chance_answer}` for every test sample (the training split's most "
                          "frequent answer, or its mean point), scored by the task's scorer."]
        if t.pairs:
            lines += ["", "| difference | value | 95% interval | verdict |", "| --- | --- | --- | --- |"]
            for p in t.pairs:
                interval = "n/a" if p.low is None else f"[{p.low:+.3f}, {p.high:+.3f}]"
                value = _num(p.value, "+.3f")
                if p.verdict == NO_PARSEABLE:  # a difference to a floor value: not shown as a number
                    value = interval = "-"
                lines.append(f"| {p.first} - {p.second} | {value} | {interval} | {verdict_text(p)} |")
        lines.append("")
    if comparison.skipped:
        lines += ["Tasks not compared (not evaluated by every run): " + "; ".join(comparison.skipped) + ".", ""]
    return "\n".join(lines)


def verdict_text(p) -> str:
    """The verdict without the numbers (they have their own columns)."""
    if p.verdict == NO_PARSEABLE:
        return p.unparsed_text()
    return p.verdict if p.better is None else f"{p.verdict} ({'better' if p.better else 'worse'})"


CSV_COLUMNS = ("task", "metric", "higher_is_better", "n", "kind", "name", "runs", "value", "std", "low", "high",
               "unparsed", "missing", "answers", "verdict")


def csv_text(comparison: Comparison) -> str:
    """One row per side (kind "side") and per pair (kind "difference", name "first - second")."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for t in comparison.tasks:
        common = {"task": t.task, "metric": t.metric, "higher_is_better": t.higher_is_better, "n": t.n}
        for s in t.sides.values():
            writer.writerow({**common, "kind": "side", "name": s.name, "runs": len(s.runs), "value": _csv(s.value),
                             "std": _csv(s.std), "low": _csv(s.low), "high": _csv(s.high), "unparsed": s.unparsed,
                             "missing": s.missing, "answers": s.answers,
                             "verdict": NO_PARSEABLE if s.mostly_unparsed else ""})
        for p in t.pairs:
            shown = p.verdict != NO_PARSEABLE  # a difference to a floor value is not a number to read
            writer.writerow({**common, "kind": "difference", "name": f"{p.first} - {p.second}",
                             **{key: _csv(getattr(p, key)) for key in ("value", "low", "high") if shown},
                             "verdict": verdict_text(p)})
    return buffer.getvalue()


def _csv(value: Optional[float]) -> str:
    return "" if value is None else repr(float(value))


def _tex(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                          ("$", r"\$"), ("{", r"\{"), ("}", r"\}")):
        text = text.replace(char, escaped)
    return text


def latex(comparison: Comparison) -> str:
    """A booktabs table: one row per configuration, one column per task; each cell the value (mean
    $\\pm$ std over seeds) with its 95% interval below, and the unparsed count where there are any."""
    tasks = comparison.tasks
    header = " & ".join(_tex(f"{t.task} ({t.metric}{'' if t.higher_is_better else ', lower is better'})")
                        for t in tasks)
    lines = [r"% written by socialfusion compare; needs \usepackage{booktabs}",
             r"\begin{tabular}{l" + "c" * len(tasks) + "}", r"\toprule", f"configuration & {header} \\\\",
             r"\midrule"]
    for name in comparison.sides:
        lines.append(f"{_tex(name)} & " + " & ".join(_latex_cell(t.sides.get(name)) for t in tasks) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def _latex_cell(side: Optional[Side]) -> str:
    if side is None:  # the chance side of a task without a training split
        return "--"
    if side.mostly_unparsed:
        return f"\\shortstack{{{_tex(NO_PARSEABLE)}\\\\ {{\\scriptsize ({side.unparsed_text()})}}}}"
    value = _num(side.value) if side.std is None else f"${side.value:.3f} \\pm {side.std:.3f}$"
    below = side_interval_text(side) + (f", unparsed {side.unparsed_text()}" if side.unanswered else "")
    return f"\\shortstack{{{value}\\\\ {{\\scriptsize {below}}}}}"


def chart(comparison: Comparison):
    panels = []
    for t in comparison.tasks:
        entries = []
        for s in t.sides.values():
            note = f"{NO_PARSEABLE} ({s.unparsed_text()})" if s.mostly_unparsed else None
            label = s.name if len(s.runs) == 1 else f"{s.name} ({len(s.runs)} runs)"
            entries.append((label, s.value, s.low, s.high, note))
        arrow = "↑" if t.higher_is_better else "↓"
        panels.append((f"{t.task}: {t.metric} {arrow} (n={t.n})", entries))
    return plots.interval_panels(panels, "value with its 95% bootstrap interval")


def write(comparison: Comparison, out_dir: Path) -> Dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"compare.{kind}" for kind in ("json", "md", "csv", "tex", "png")}
    atomic_write_json(paths["json"], to_json(comparison))
    for kind, text in (("md", markdown), ("csv", csv_text), ("tex", latex)):
        atomic_write_text(paths[kind], text(comparison))
    paths["pdf"] = plots.save_figure(chart(comparison), paths["png"])[1]
    return paths


def summary_lines(comparison: Comparison) -> List[str]:
    """What the command prints: per task each side, then each pair's verdict."""
    lines = []
    for t in comparison.tasks:
        lines.append(f"{t.task} ({t.metric}, n={t.n}):")
        for s in t.sides.values():
            lines.append(f"  {s.name:<16} {side_value_text(s):<16} {side_interval_text(s):<18} "
                         f"unparsed {s.unparsed_text()}")
        for p in t.pairs:
            lines.append(f"  {p.first} vs {p.second}: {p.describe()}")
    for skip in comparison.skipped:
        lines.append(f"skipped {skip}")
    return lines
