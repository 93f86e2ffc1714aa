"""`socialfusion report RUN_DIR`: score every evaluated task of a run, add the forgetting check,
and write report.json, report.md and the charts (see layout.py for the file names)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from .. import registry
from ..atomic_files import atomic_write_json, atomic_write_text
from ..plots import checkpoint_name
from .scoring import (ScoringInputError, load_predictions, load_references, parse_predictions,
                             score_predictions)
from .confusion import (confusion_matrix, multi_label_recall, multi_label_sets, recall_from_confusion,
                        single_label_pairs)
from .forgetting import compare, read_loss
from .layout import RunLayout
from .provenance import read_info
from .report_charts import task_charts
from socialfusion_plugin.errors import UserInputError


def eval_info(layout: RunLayout, task: str) -> Dict[str, Any]:
    return read_info(layout.eval_info(task)) or {}


def scoring_context(info: Mapping[str, Any], task_name: str, where: Path) -> Optional[int]:
    """Checks the eval info against the task being scored; returns the number of records the
    evaluation was limited to (None: all)."""
    recorded = info.get("task")
    if recorded is not None and recorded != task_name:
        raise ScoringInputError(f"{where} says these predictions are for task {recorded!r}, not {task_name!r}")
    limit = info.get("limit")
    return int(limit) if isinstance(limit, int) and limit > 0 else None


def score_task(layout: RunLayout, task_name: str, references: Optional[Path] = None,
               task_options: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Score one task's predictions, write <task>.metrics.json and its charts; return the summary."""
    info = eval_info(layout, task_name)
    refs_path = Path(references) if references else (Path(info["data"]) if info.get("data") else None)
    if refs_path is None:
        raise UserInputError(f"{layout.eval_info(task_name)} missing: pass --references {task_name}=FILE.json")
    options = dict(info.get("task_options") or {}) if task_options is None else dict(task_options)
    task = registry.TASKS.get(task_name)
    refs = load_references(refs_path, task)
    expected = scoring_context(info, task_name, layout.eval_info(task_name))
    available = len(refs)
    if expected is not None:
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
                              checkpoint_name(model_path) if model_path else layout.run_dir.name))
    return summary


def _per_class(layout, task, options, refs, predictions, metrics, checkpoint=None) -> Dict[str, Any]:
    opts = task.options(options)
    metas = [r["meta"] for r in refs]
    answers = parse_predictions(task, refs, predictions, opts)
    parsed, scores = answers.parsed, answers.class_scores
    out: Dict[str, Any] = {}
    single = single_label_pairs(task, opts, metas, parsed, scores)
    multi = multi_label_sets(task, metas, parsed)
    recall = metrics.get("per_class_recall")
    if single is not None:
        out["confusion"] = confusion_matrix(*single)
        recall = recall or recall_from_confusion(out["confusion"])
    elif multi is not None:
        recall = multi_label_recall(task.label_names(opts), *multi)
    if recall:
        out["per_class_recall"] = recall
    out["charts"] = task_charts(layout, task, opts, metas, parsed, metrics, checkpoint, out.get("confusion"), recall,
                                multi[0] if multi is not None else None)
    return out


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
    report: Dict[str, Any] = {"run": str(layout.run_dir), "tasks": {}}
    for name in names:
        report["tasks"][name] = score_task(layout, name, references.get(name))
    base_loss = base_loss or (layout.general_base_loss if layout.general_base_loss.is_file() else None)
    trained_loss = trained_loss or (layout.general_loss if layout.general_loss.is_file() else None)
    if base_loss and trained_loss:
        report["forgetting"] = compare(read_loss(base_loss), read_loss(trained_loss))
    elif base_loss or trained_loss:
        report["forgetting"] = {"missing": "need both general.base.loss.json and general.loss.json",
                                "found": str(base_loss or trained_loss)}
    atomic_write_json(layout.report_json, report)
    atomic_write_text(layout.report_md, markdown(report))
    return report


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


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
                     f"{t['primary_metric']} ({arrow}) | {_fmt(t['primary_value'])} |")
    forgetting = report.get("forgetting")
    if forgetting and "delta_loss" in forgetting:
        lines += ["", "## Forgetting check (general instruction data)", "",
                  "| model | samples | tokens | mean loss | perplexity |", "| --- | --- | --- | --- | --- |"]
        for key in ("base", "trained"):
            m = forgetting[key]
            lines.append(f"| {key}: {m.get('model_path', '')} | {m.get('samples')} | {m.get('tokens')} | "
                         f"{_fmt(m.get('mean_loss'))} | {_fmt(m.get('perplexity'))} |")
        lines += ["", f"Loss change (trained - base): {_fmt(forgetting['delta_loss'])}; perplexity ratio: "
                      f"{_fmt(forgetting['perplexity_ratio'])}."]
        if forgetting.get("warning"):
            lines.append(f"Warning: {forgetting['warning']}.")
    elif forgetting:
        lines += ["", f"Forgetting check incomplete: {forgetting['missing']} (found {forgetting['found']})."]
    charts_list = [(name, c) for name, t in report["tasks"].items() for c in t.get("charts", [])]
    if charts_list:
        lines += ["", "## Charts", ""] + [f"![{name}]({c})" for name, c in charts_list]
    return "\n".join(lines) + "\n"
