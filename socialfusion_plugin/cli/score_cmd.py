"""`socialfusion score TASK --predictions P.jsonl --references FILE.json [--out M.json]`.

The JSON result goes to stdout (and --out); a one-line count of references, missing, unparsed and
extra predictions goes to stderr. Errors: see evaluation/scoring.py; predictions whose eval info
(<name>.eval.json beside them) names another task are refused too."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import registry
from ..atomic_files import atomic_write_json
from ..evaluation.provenance import info_path, read_info
from ..evaluation.report import scoring_context
from ..evaluation.scoring import load_predictions, load_references, score_predictions
from .file_errors import require_writable
from .flags import add_shared_flag, parse_key_values


def register(subparsers) -> None:
    parser = subparsers.add_parser("score", help="score predictions against converted references")
    parser.add_argument("task", help="task name")
    parser.add_argument("--predictions", required=True, type=Path, help='JSON lines {"id", "text", ["scores"]}')
    parser.add_argument("--references", required=True, type=Path, help="converted LLaVA JSON with meta")
    parser.add_argument("--out", type=Path, help="write {task, n, unparsed, missing, extra, metrics} JSON here")
    add_shared_flag(parser, "--option")
    parser.set_defaults(handler=run)


def run(args) -> int:
    task = registry.TASKS.get(args.task)
    require_writable(files=(("--out", args.out),))
    info_file = info_path(args.predictions)  # eval's record of how the predictions were made, if any
    expected = scoring_context(read_info(info_file) or {}, task.name, info_file)
    references = load_references(args.references, task)
    predictions = load_predictions(args.predictions)
    result = score_predictions(task, references, predictions, parse_key_values(args.option), expected=expected,
                               source=str(args.predictions))
    print(json.dumps(result, indent=2))
    print(f"{task.name}: {result['n']} references, {result['missing']} without a prediction, {result['unparsed']} "
          f"unparsed, {result['extra']} extra predictions (ids not in the references, not scored)", file=sys.stderr)
    if args.out:
        atomic_write_json(args.out, result)
    return 0
