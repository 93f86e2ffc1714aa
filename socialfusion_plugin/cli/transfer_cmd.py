"""`socialfusion transfer --single TASK=RUN ... --joint RUN --out DIR`: the transfer table."""
from __future__ import annotations

from pathlib import Path

from .options_arg import parse_key_values


def register(subparsers) -> None:
    parser = subparsers.add_parser("transfer", help="single-task vs joint training table (JSON + Markdown + PNG)")
    parser.add_argument("--single", action="append", required=True, metavar="TASK=RUN",
                        help="a single-task run folder per task (repeatable)")
    parser.add_argument("--joint", required=True, type=Path, help="the jointly trained run folder")
    parser.add_argument("--out", type=Path, help="output folder (default: JOINT/eval)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..evaluation.transfer import transfer_table, write_transfer

    singles = {k: Path(v) for k, v in parse_key_values(args.single, "--single").items()}
    table = transfer_table(singles, args.joint)
    paths = write_transfer(table, args.out or args.joint / "eval")
    for row in table["rows"]:
        change = "n/a" if row["relative_change"] is None else f"{100 * row['relative_change']:+.2f}%"
        flag = "  NEGATIVE TRANSFER" if row["negative_transfer"] else ""
        print(f"{row['task']}: {row['metric']} single {row['single']} joint {row['joint']} -> {change}{flag}")
    mean = table["mean_relative_change"]
    print(f"mean relative change: {'n/a' if mean is None else f'{100 * mean:+.2f}%'}")
    print(f"wrote {paths['json']}, {paths['md']}, {paths['png']}")
    return 0
