"""`socialfusion transfer --single TASK=RUN ... --joint RUN --out DIR`: the transfer table."""
from __future__ import annotations

from pathlib import Path

from .flags import parse_key_values


def register(subparsers) -> None:
    parser = subparsers.add_parser("transfer", help="single-task vs joint training table (JSON + Markdown + PNG)")
    parser.add_argument("--single", action="append", required=True, metavar="TASK=RUN",
                        help="a single-task run folder per task (repeatable); a bare RUN (a run or results "
                             "folder of `eval-suite`) stands for every task of its results table")
    parser.add_argument("--joint", required=True, type=Path, help="the jointly trained run folder")
    parser.add_argument("--out", type=Path, help="output folder (default: JOINT/eval)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..evaluation.transfer import transfer_table, write_transfer

    singles = _single_runs(args.single)
    table = transfer_table(singles, args.joint)
    paths = write_transfer(table, args.out or args.joint / "eval")
    for row in table["rows"]:
        change = "n/a" if row["relative_change"] is None else f"{100 * row['relative_change']:+.2f}%"
        flag = f"  {row['no_parseable_answers']}" if row.get("no_parseable_answers") else (
            "  NEGATIVE TRANSFER" if row["negative_transfer"] else "")
        print(f"{row['task']}: {row['metric']} single {row['single']} joint {row['joint']} -> {change}{flag}")
    mean = table["mean_relative_change"]
    print(f"mean relative change: {'n/a' if mean is None else f'{100 * mean:+.2f}%'}")
    print(f"wrote {paths['json']}, {paths['md']}, {paths['png']}")
    return 0


def _single_runs(values):
    """{task: run folder} from `TASK=RUN` and bare `RUN` values (every task in RUN's results table)."""
    import json

    from ..evaluation.layout import RunLayout
    from .main import CommandError

    singles = {}
    for value in values:
        if "=" in value:
            singles.update({k: Path(v) for k, v in parse_key_values([value], "--single").items()})
            continue
        results = RunLayout(Path(value)).eval_dir / "results.json"
        if not results.is_file():
            raise CommandError(f"--single {value}: no results table {results} (from `eval-suite`); "
                               "write --single TASK=RUN")
        for row in json.loads(results.read_text(encoding="utf-8"))["rows"]:
            singles[row["task"]] = Path(value)
    return singles
