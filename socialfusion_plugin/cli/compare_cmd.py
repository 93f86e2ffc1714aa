"""`socialfusion compare [NAME=]RUN ... --out DIR [--train TASK=FILE | --data-root ROOT]`: the
evaluated runs side by side per task, each value with its 95% bootstrap interval and each pair's
paired difference with its interval and verdict (evaluation/compare.py); runs given the same NAME
are seeds of one configuration. Writes compare.{json,md,csv,tex,png,pdf} into DIR."""
from __future__ import annotations

from pathlib import Path

from .flags import add_shared_flag, parse_task_paths


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="runs side by side: values with bootstrap intervals, paired differences with verdicts")
    parser.add_argument("runs", nargs="+", metavar="[NAME=]RUN",
                        help="an evaluated run folder (RUN/eval/<task>.preds.jsonl); runs given the same NAME are "
                             "seeds of one configuration (mean ± std, pooled interval); a bare RUN is named after "
                             "its folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder for compare.{json,md,csv,tex,png}")
    parser.add_argument("--tasks", nargs="+", help="tasks to compare (default: every task all runs evaluated)")
    chance = parser.add_mutually_exclusive_group()
    chance.add_argument("--train", action="append", default=[], metavar="TASK=FILE",
                        help="a task's converted training split, for its chance side (repeatable)")
    add_shared_flag(chance, "--data-root", "chance for every compared task from converted/<task>_train.json")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (same inputs and seed: same outputs)")
    parser.add_argument("--resamples", type=int, default=None, help="bootstrap draws (default 1000)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..evaluation import compare

    specs = compare.run_specs(args.runs)
    train = parse_task_paths(args.train, "--train")
    if args.data_root is not None:
        from ..data_layout import DataLayout
        from ..evaluation.layout import RunLayout

        layout = DataLayout(args.data_root)
        tasks = args.tasks or sorted({t for s in specs for t in RunLayout(s.path).evaluated_tasks()})
        train = {t: layout.converted(t, "train") for t in tasks if layout.converted(t, "train").is_file()}
    result = compare.compare_runs(specs, args.tasks, train, seed=args.seed,
                                  resamples=args.resamples or compare.RESAMPLES)
    paths = compare.write(result, args.out)
    for line in compare.summary_lines(result):
        print(line)
    print("wrote " + ", ".join(str(paths[k]) for k in ("md", "csv", "json", "tex", "png")))
    return 0
