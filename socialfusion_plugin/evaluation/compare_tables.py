"""What `socialfusion compare` writes (compare.py computes it): compare.json, compare.md,
compare.csv, compare.tex (a LaTeX table for papers) and compare.png (+ .pdf), a chart of every
side's value with its interval. Every table shows the unparsed answers beside the metric, and the
chart, the tables and the printed lines say the same verdicts from the same Pair objects."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Dict, List, Optional

from .. import plots
from ..atomic_files import atomic_write_json, atomic_write_text
from .compare import MOSTLY_UNPARSED, NO_PARSEABLE, Comparison, Side, TaskComparison

INTERVALS = "95% bootstrap intervals over the test samples; differences are paired (same samples, same draws)"


def _num(value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


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
                value = _num(p.value, True)
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
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
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
            writer.writerow({**common, "kind": "difference", "name": f"{p.first} - {p.second}", "runs": "",
                             "value": _csv(p.value if shown else None), "std": "",
                             "low": _csv(p.low if shown else None), "high": _csv(p.high if shown else None),
                             "unparsed": "", "missing": "", "answers": "", "verdict": verdict_text(p)})
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
        cells = []
        for t in tasks:
            side = t.sides.get(name)
            if side is None:
                cells.append("--")
                continue
            if side.mostly_unparsed:
                cells.append(f"\\shortstack{{{_tex(NO_PARSEABLE)}\\\\ {{\\scriptsize ({side.unparsed_text()})}}}}")
                continue
            value = _num(side.value)
            if side.std is not None:
                value = f"${side.value:.3f} \\pm {side.std:.3f}$"
            below = side_interval_text(side)
            if side.unanswered:
                below += f", unparsed {side.unparsed_text()}"
            cells.append(f"\\shortstack{{{value}\\\\ {{\\scriptsize {below}}}}}")
        lines.append(f"{_tex(name)} & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


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
