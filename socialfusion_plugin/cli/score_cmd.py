"""`socialfusion score TASK --predictions P.jsonl --references FILE.json [--out M.json]`."""
from __future__ import annotations

import json
from pathlib import Path

from .. import registry
from ..tasks.scoring import load_predictions, load_references, score_predictions
from .options_arg import parse_key_values


def register(subparsers) -> None:
    parser = subparsers.add_parser("score", help="score predictions against converted references")
    parser.add_argument("task", help="task name")
    parser.add_argument("--predictions", required=True, type=Path, help='JSON lines {"id", "text", ["scores"]}')
    parser.add_argument("--references", required=True, type=Path, help="converted LLaVA JSON with meta")
    parser.add_argument("--out", type=Path, help="write {task, n, unparsed, metrics} JSON here")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE", help="task option (repeatable)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    task = registry.TASKS.get(args.task)
    references = load_references(args.references, task)
    predictions = load_predictions(args.predictions)
    result = score_predictions(task, references, predictions, parse_key_values(args.option))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0
