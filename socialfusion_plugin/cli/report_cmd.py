"""`socialfusion report RUN_DIR`: score every task evaluated in RUN_DIR/eval, add the forgetting
check, write report.json / report.md / PNG charts there."""
from __future__ import annotations

from pathlib import Path

from .flags import parse_key_values


def register(subparsers) -> None:
    parser = subparsers.add_parser("report", help="score all evaluated tasks of a run; JSON + Markdown + PNG charts")
    parser.add_argument("run_dir", type=Path, help="run folder holding eval/<task>.preds.jsonl")
    parser.add_argument("--task", action="append", help="only these tasks (repeatable; default: all evaluated)")
    parser.add_argument("--references", action="append", metavar="TASK=FILE.json",
                        help="references for a task (default: the data file recorded by eval)")
    parser.add_argument("--base-loss", type=Path, help="forgetting check, base model (default eval/general.base.loss.json)")
    parser.add_argument("--trained-loss", type=Path, help="forgetting check, checkpoint (default eval/general.loss.json)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..evaluation.layout import RunLayout
    from ..evaluation.report import build_report

    references = {k: Path(v) for k, v in parse_key_values(args.references, "--references").items()}
    report = build_report(args.run_dir, references, args.task, args.base_loss, args.trained_loss)
    layout = RunLayout(args.run_dir)
    for name, task in report["tasks"].items():
        print(f"{name}: {task['primary_metric']} = {task['primary_value']} (n={task['n']}, "
              f"unparsed={task['unparsed']}, missing={task['missing']}, extra={task['extra']})")
    forgetting = report.get("forgetting") or {}
    if forgetting.get("delta_loss") is not None:
        print(f"forgetting: loss change {forgetting['delta_loss']:+.4f}, perplexity ratio {forgetting['perplexity_ratio']:.4f}")
    print(f"wrote {layout.report_json} and {layout.report_md}")
    return 0
