"""`socialfusion report RUN_DIR`: score every evaluated task of a run, add the forgetting check,
and write report.json, report.md and the charts (see layout.py for the file names).

Per task, the per-class views its answer space gives, each charted (titles name the evaluated
checkpoint; every PNG has a PDF copy beside it):
- a confusion matrix where each record has one decision (a single label, or an in/out decision);
- per-class bars of the metric the task is scored by: `per_class_<m>` when the task's primary
  metric is `mean_<m>` (or `<m>_macro`, `<m>_micro`) and its scores hold it, per-class recall
  otherwise (also of multi-label answers); each class with its support;
- the distribution of the distance error where the answer is a point (the answer space's
  `point_errors`).

The forgetting check: does social training cost general ability? Loss and perplexity on held-out
general instruction samples, for the base model and for the trained checkpoint, compared on the
SAME samples (the files record a hash of the sample ids; a mismatch is reported, not hidden)."""
from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import plots, registry
from ..atomic_files import atomic_write_json, atomic_write_text
from ..errors import UserInputError
from ..tasks.base import Task, TaskOptions
from .layout import RunLayout
from .provenance import read_info
from .scoring import ScoringInputError, load_predictions, load_references, parse_predictions, score_predictions

UNPARSED = "(unparsed)"
OTHER = "(other)"
MEASURED = ("samples", "skipped_image_samples", "tokens", "mean_loss", "perplexity")
COMPARED = ("model_path", "samples", "tokens", "mean_loss", "perplexity")


def scoring_context(info: Mapping[str, Any], task_name: str, where: Path) -> Optional[int]:
    """Checks the eval info against the task being scored; returns the number of records the
    evaluation was limited to (None: all)."""
    recorded = info.get("task")
    if recorded is not None and recorded != task_name:
        raise ScoringInputError(f"{where} says these predictions are for task {recorded!r}, not {task_name!r}")
    limit = info.get("limit")
    return int(limit) if isinstance(limit, int) and limit > 0 else None


def score_task(layout: RunLayout, task_name: str, references: Optional[Path] = None) -> Dict[str, Any]:
    """Score one task's predictions, write <task>.metrics.json and its charts; return the summary."""
    info = read_info(layout.eval_info(task_name)) or {}
    refs_path = Path(references) if references else (Path(info["data"]) if info.get("data") else None)
    if refs_path is None:
        raise UserInputError(f"{layout.eval_info(task_name)} missing: pass --references {task_name}=FILE.json")
    options = dict(info.get("task_options") or {})
    task = registry.TASKS.get(task_name)
    refs = load_references(refs_path, task)
    expected = scoring_context(info, task_name, layout.eval_info(task_name))
    available = len(refs)
    # a limited evaluation answered the first `limit` records only: score exactly those, so the
    # metric and the counts describe what was evaluated (the rest are not "missing" answers)
    refs = refs[:expected]
    predictions = load_predictions(layout.predictions(task_name))
    scored = score_predictions(task, refs, predictions, options, expected=expected,
                               source=str(layout.predictions(task_name)))
    atomic_write_json(layout.metrics(task_name), scored)
    summary: Dict[str, Any] = {
        "task": task_name, "mode": info.get("mode"), "references": str(refs_path), "n": scored["n"],
        "unparsed": scored["unparsed"], "missing": scored["missing"], "extra": scored["extra"],
        "limit": expected, "available": available,
        "primary_metric": task.primary_metric, "higher_is_better": task.higher_is_better,
        "primary_value": scored["metrics"].get(task.primary_metric), "metrics": scored["metrics"], "charts": [],
    }
    model_path = (info.get("provenance") or {}).get("model_path")
    summary.update(_per_class(layout, task, options, refs, predictions, scored["metrics"],
                              plots.checkpoint_name(model_path) if model_path else layout.run_dir.name))
    return summary


def _per_class(layout, task, options, refs, predictions, metrics, checkpoint) -> Dict[str, Any]:
    opts = task.options(options)
    metas = [r["meta"] for r in refs]
    answers = parse_predictions(task, refs, predictions, opts)
    out: Dict[str, Any] = {}
    single = single_label_pairs(task, opts, metas, answers.parsed, answers.class_scores)
    multi = multi_label_sets(task, metas, answers.parsed)
    recall = metrics.get("per_class_recall")
    if single is not None:
        out["confusion"] = confusion_matrix(*single)
        recall = recall or recall_from_confusion(out["confusion"])
    elif multi is not None:
        recall = multi_label_recall(task.label_names(opts), *multi)
    if recall:
        out["per_class_recall"] = recall
    out["charts"] = task_charts(layout, task, opts, metas, answers.parsed, metrics, checkpoint, out.get("confusion"),
                                recall, multi[0] if multi is not None else None)
    return out


def single_label_pairs(task: Task, options: TaskOptions, metas: Sequence[Mapping[str, Any]],
                       parsed: Sequence[Any], scores: Sequence[Optional[Mapping[str, float]]]
                       ) -> Optional[Tuple[List[str], List[Tuple[str, str]]]]:
    """(classes, [(truth, predicted)]) or None when the task's answer space has no single decision
    per record; an unparsed answer is predicted "(unparsed)", one outside the classes "(other)"."""
    decisions = task.answer_space.class_decisions(options, metas, parsed, scores)
    if decisions is None:
        return None
    classes, pairs = decisions
    return classes, [(truth, UNPARSED if predicted is None else predicted if predicted in classes else OTHER)
                     for truth, predicted in pairs]


def multi_label_sets(task: Task, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any]
                     ) -> Optional[Tuple[List[List[str]], List[Optional[List[str]]]]]:
    """(true label sets, predicted label sets); None where the task's answer is not a label set."""
    return task.answer_space.label_sets(metas, parsed)


def confusion_matrix(classes: Sequence[str], pairs: Sequence[Tuple[str, str]]) -> Dict[str, Any]:
    """Rows: true classes; columns: the classes, then "(other)" and "(unparsed)" when they occur."""
    columns = list(classes) + [c for c in (OTHER, UNPARSED) if any(p == c for _, p in pairs)]
    row_index = {c: i for i, c in enumerate(classes)}
    col_index = {c: i for i, c in enumerate(columns)}
    matrix = [[0] * len(columns) for _ in classes]
    for truth, predicted in pairs:
        if truth in row_index:
            matrix[row_index[truth]][col_index[predicted]] += 1
    return {"rows": list(classes), "columns": columns, "counts": matrix}


def recall_from_confusion(confusion: Mapping[str, Any]) -> Dict[str, Optional[float]]:
    return {name: counts[confusion["columns"].index(name)] / sum(counts) if sum(counts) else None
            for name, counts in zip(confusion["rows"], confusion["counts"])}


def multi_label_recall(classes: Sequence[str], truths: Sequence[Sequence[str]],
                       predicted: Sequence[Optional[Sequence[str]]]) -> Dict[str, Optional[float]]:
    """Per class: the share of records with that label whose predicted set contains it."""
    recall: Dict[str, Optional[float]] = {}
    for name in classes:
        having = [i for i, t in enumerate(truths) if name in t]
        hits = sum(1 for i in having if predicted[i] and name in predicted[i])
        recall[name] = hits / len(having) if having else None
    return recall


def task_charts(layout, task, options, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any],
                metrics: Mapping[str, Any], checkpoint: Optional[str], confusion: Optional[Mapping[str, Any]],
                recall: Optional[Mapping[str, Optional[float]]],
                truth_sets: Optional[Sequence[Sequence[str]]]) -> List[str]:
    """Write the task's charts into the run's eval folder; returns the PNG file names."""
    written: List[str] = []

    def save(figure, kind: str) -> None:
        written.append(plots.save_figure(figure, layout.chart(task.name, kind))[0].name)

    title = lambda what: plots.checkpoint_title(f"{task.name}: {what}", checkpoint)  # noqa: E731
    if confusion is not None:
        save(plots.confusion_chart(confusion["counts"], confusion["rows"], confusion["columns"], title("confusion")),
             "confusion")
    metric, values = per_class_metric(task, metrics, recall)
    if values:
        support = class_support(confusion, truth_sets)
        labels = list(values)
        shown = metric.upper() if len(metric) <= 3 else metric  # AP, F1; recall
        save(plots.per_class_bars(labels, [values[label] for label in labels],
                                  [support.get(label) for label in labels], shown, title(f"per-class {shown}")),
             metric)
    errors = task.answer_space.point_errors(metas, parsed)
    if errors is not None:
        distances, without = errors
        save(plots.error_distribution(distances, title("distance error, predicted to true point"),
                                      "L2 distance (normalized image coordinates)", without_value=without,
                                      value_range=(0.0, math.sqrt(2.0)),
                                      without_value_note="without a point (scored as the worst value)"),
             "error")
    return written


def per_class_metric(task, metrics: Mapping[str, Any], recall) -> Tuple[str, Optional[Mapping[str, Optional[float]]]]:
    """(metric name, {class: value}): the per-class form of the primary metric where the scores have
    it, else recall."""
    base = task.primary_metric
    for prefix in ("mean_", "macro_", "micro_"):
        base = base.removeprefix(prefix)
    for suffix in ("_macro", "_micro", "_mean"):
        base = base.removesuffix(suffix)
    per_class = metrics.get(f"per_class_{base}")
    if isinstance(per_class, Mapping) and per_class:
        return base, per_class
    return "recall", recall


def class_support(confusion: Optional[Mapping[str, Any]], truth_sets) -> Dict[str, int]:
    if confusion is not None:
        return {row: int(sum(counts)) for row, counts in zip(confusion["rows"], confusion["counts"])}
    if truth_sets is not None:
        return dict(Counter(label for labels in truth_sets for label in set(labels)))
    return {}


def build_report(run_dir: Path, references: Optional[Mapping[str, Path]] = None,
                 tasks: Optional[List[str]] = None, base_loss: Optional[Path] = None,
                 trained_loss: Optional[Path] = None) -> Dict[str, Any]:
    layout = RunLayout(run_dir)
    references = dict(references or {})
    names = tasks or layout.evaluated_tasks()
    if not names:
        raise FileNotFoundError(f"no predictions in {layout.eval_dir} (expected <task>.preds.jsonl files)")
    for name in names:
        if not layout.predictions(name).is_file():
            raise FileNotFoundError(f"predictions file {layout.predictions(name)} not found")
    report: Dict[str, Any] = {"run": str(layout.run_dir),
                              "tasks": {name: score_task(layout, name, references.get(name)) for name in names}}
    base_loss = base_loss or (layout.general_base_loss if layout.general_base_loss.is_file() else None)
    trained_loss = trained_loss or (layout.general_loss if layout.general_loss.is_file() else None)
    if base_loss and trained_loss:
        report["forgetting"] = forgetting_check(read_loss(base_loss), read_loss(trained_loss))
    elif base_loss or trained_loss:
        report["forgetting"] = {"missing": "need both general.base.loss.json and general.loss.json",
                                "found": str(base_loss or trained_loss)}
    atomic_write_json(layout.report_json, report)
    atomic_write_text(layout.report_md, markdown(report))
    return report


def value_text(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def n_text(scored: Mapping[str, Any]) -> str:
    """"16 (limit: first 16 of 48)" for a limited evaluation, else the count."""
    limit, available = scored.get("limit"), scored.get("available")
    if limit and available is not None and available > scored["n"]:
        return f"{scored['n']} (limit: first {scored['n']} of {available})"
    return str(scored["n"])


def markdown(report: Mapping[str, Any]) -> str:
    lines = [f"# Evaluation report: {report['run']}", "", "| task | mode | n | unparsed | missing | metric | value |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, t in report["tasks"].items():
        arrow = "higher is better" if t["higher_is_better"] else "lower is better"
        lines.append(f"| {name} | {t.get('mode') or 'n/a'} | {n_text(t)} | {t['unparsed']} | {t['missing']} | "
                     f"{t['primary_metric']} ({arrow}) | {value_text(t['primary_value'])} |")
    forgetting = report.get("forgetting")
    if forgetting and "delta_loss" in forgetting:
        lines += ["", "## Forgetting check (general instruction data)", "",
                  "| model | samples | tokens | mean loss | perplexity |", "| --- | --- | --- | --- | --- |"]
        for key in ("base", "trained"):
            m = forgetting[key]
            lines.append(f"| {key}: {m.get('model_path', '')} | {m.get('samples')} | {m.get('tokens')} | "
                         f"{value_text(m.get('mean_loss'))} | {value_text(m.get('perplexity'))} |")
        lines += ["", f"Loss change (trained - base): {value_text(forgetting['delta_loss'])}; perplexity ratio: "
                      f"{value_text(forgetting['perplexity_ratio'])}."]
        if forgetting.get("warning"):
            lines.append(f"Warning: {forgetting['warning']}.")
    elif forgetting:
        lines += ["", f"Forgetting check incomplete: {forgetting['missing']} (found {forgetting['found']})."]
    charts_list = [(name, c) for name, t in report["tasks"].items() for c in t.get("charts", [])]
    if charts_list:
        lines += ["", "## Charts", ""] + [f"![{name}]({c})" for name, c in charts_list]
    return "\n".join(lines) + "\n"


def loss_record(result: Dict[str, Any], model_path: str, model_base: Optional[str], data: Path) -> Dict[str, Any]:
    """What `eval --mode loss` writes: the measurement plus where it came from."""
    digest = hashlib.sha256("\n".join(sorted(result["sample_ids"])).encode("utf-8")).hexdigest()
    return {"mode": "loss", "model_path": str(model_path), "model_base": model_base, "data": str(data),
            **{key: result[key] for key in MEASURED}, "sample_ids_sha256": digest}


def read_loss(path: Path) -> Dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"loss file {path} not found")
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("mean_loss", "perplexity", "tokens", "sample_ids_sha256"):
        if key not in data:
            raise UserInputError(f"{path}: not a `socialfusion eval --mode loss` output (no {key!r})")
    return data


def forgetting_check(base: Dict[str, Any], trained: Dict[str, Any]) -> Dict[str, Any]:
    """delta_loss > 0 means the trained model fits general data worse (forgetting)."""
    same = base["sample_ids_sha256"] == trained["sample_ids_sha256"]
    result: Dict[str, Any] = {
        "base": {k: base[k] for k in COMPARED if k in base},
        "trained": {k: trained[k] for k in COMPARED if k in trained},
        "same_samples": same, "delta_loss": None, "perplexity_ratio": None,
    }
    if base["mean_loss"] is not None and trained["mean_loss"] is not None:
        result["delta_loss"] = trained["mean_loss"] - base["mean_loss"]
        result["perplexity_ratio"] = trained["perplexity"] / base["perplexity"]
    if not same:
        result["warning"] = ("the two measurements cover different samples (e.g. a text-only base model skips "
                             "image samples): evaluate both with --text-only for a like-for-like comparison")
    return result
