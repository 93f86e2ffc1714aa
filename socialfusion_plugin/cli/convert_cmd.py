"""`socialfusion convert TASK --split SPLIT [--root DIR] [--out FILE.json]`: --root and --out default
to the data layout (data_layout.py): $SOCIALFUSION_DATA/<task>/ and
$SOCIALFUSION_DATA/converted/<task>_<split>.json."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import registry
from ..data_layout import DataLayout
from ..tasks.conversion import convert
from .file_errors import file_errors_as_command_errors, require_writable
from .flags import add_shared_flag, parse_key_values


def register(subparsers) -> None:
    parser = subparsers.add_parser("convert", help="convert an original dataset release into LLaVA records (+ meta)")
    parser.add_argument("task", help="task name (see `socialfusion tasks`)")
    parser.add_argument("--split", required=True, help="split to convert (train/val/test, per task)")
    add_shared_flag(parser, "--data-root", "default: $SOCIALFUSION_DATA, else ./data")
    parser.add_argument("--root", type=Path, help="dataset root as downloaded (default: DATA_ROOT/<task>)")
    parser.add_argument("--out", type=Path, help="output LLaVA JSON file (default: DATA_ROOT/converted/<task>_<split>.json)")
    parser.add_argument("--report", type=Path, help="write a JSON report (counts, a reason per skip)")
    parser.add_argument("--absolute-paths", action="store_true",
                        help="write absolute image paths instead of paths relative to --root")
    add_shared_flag(parser, "--option", "e.g. granularity=coarse")
    parser.add_argument("--prompts", choices=("train", "eval"), help="prompt wording: seeded paraphrases (train) or "
                        "the fixed evaluation wording; default: train for the train split, eval otherwise")
    parser.add_argument("--seed", type=int, default=0, help="seed for choosing prompt paraphrases")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="processes reading independent parts of the split (tasks that have parts, e.g. HaGRID "
                        "class files); the output is identical for any value (default: %(default)s)")
    add_shared_flag(parser, "--no-progress")
    parser.set_defaults(handler=run)


def run(args) -> int:
    task = registry.TASKS.get(args.task)
    layout = DataLayout.from_env(args.data_root)
    args.root = args.root if args.root is not None else layout.release(task.name)
    args.out = args.out if args.out is not None else layout.converted(task.name, args.split)
    require_writable(files=(("--out", args.out), ("--report", args.report)))  # before the work, not after it
    with file_errors_as_command_errors():
        report = convert(task, root=args.root, split=args.split, out=args.out, options=parse_key_values(args.option),
                         report_path=args.report, absolute_paths=args.absolute_paths, prompt_mode=args.prompts,
                         seed=args.seed, progress=not args.no_progress, workers=max(1, args.workers),
                         write_empty=False)
    print(report.summary())
    if report.converted == 0:
        where = f"; report {args.report}" if args.report else ""
        why = ("the split holds no records" if report.read == 0
               else f"all {report.read} records read were skipped, for the reasons above")
        print(f"error: no record was converted, so {args.out} was not written ({why}{where})", file=sys.stderr)
        return 1
    print(f"wrote {args.out}" + (f" and report {args.report}" if args.report else ""))
    return 0
