"""`socialfusion eval-suite`: evaluate one checkpoint on several tasks (names, `all`, or a suite
YAML), score them and write one results table; under torchrun / accelerate launch / deepspeed,
every process predicts its share of each task (evaluation/suite*.py)."""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..evaluation.suite import SuiteSettings
from .flags import add_dataclass_arguments, add_shared_flag, flag_values, parse_key_values

# the order flags take in the results table's reproducing command line
FLAGS = ("model_path", "model_base", "tasks", "suite", "data_root", "out", "mode", "option", "batch_size",
         "max_new_tokens", "temperature", "seed", "conv_mode", "multi_label_threshold", "device", "dtype", "overwrite")


def register(subparsers) -> None:
    parser = subparsers.add_parser("eval-suite", help="evaluate a checkpoint on several tasks into one results table")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--tasks", nargs="+", metavar="TASK", help="task names, or `all` (default: all)")
    which.add_argument("--suite", type=Path, help="suite YAML pinning each task's split, mode, options and files")
    add_shared_flag(parser, "--data-root", "default: $SOCIALFUSION_DATA, else ./data")
    parser.add_argument("--out", type=Path, help="run folder receiving eval/ (default: --model-path)")
    parser.add_argument("--mode", choices=("generate", "rank"),
                        help="with --tasks: one mode for every task (default: rank where a task has answer options "
                             "to rank, generate otherwise)")
    add_shared_flag(parser, "--option", "TASK.KEY=VALUE names the task", metavar="TASK.KEY=VALUE")
    add_dataclass_arguments(parser, SuiteSettings)
    add_shared_flag(parser, "--no-progress")
    # the deepspeed launcher appends --local_rank=N; the process reads LOCAL_RANK from the environment
    parser.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..data_layout import DataLayout
    from ..evaluation.report import build_report
    from ..evaluation.suite import (SuiteError, evaluate_suite, load_suite, results_table, suite_from_names,
                                    write_results)
    from ..preflight import check_suite_arguments
    from ..evaluation.suite_processes import start_processes, stop_processes
    from ..host_interface import active_host

    if args.suite is not None:
        if args.mode or args.option:
            raise SuiteError("--mode and --option go with --tasks; a suite file sets them per task")
        suite = load_suite(args.suite, args.data_root)
    else:
        suite = suite_from_names(args.tasks or ["all"], DataLayout.from_env(args.data_root), args.mode,
                                 _task_options(args.option))
    processes = start_processes()
    try:
        settings = suite_settings(args, processes, run_dir=args.out or args.model_path)
        host = active_host()
        check_suite_arguments(suite, settings, host)
        evaluate_suite(suite, settings, processes, host)  # it prints on the first process only
        if processes.is_main:
            report = build_report(settings.run_dir, tasks=suite.names)
            table = results_table(suite, report, _command(args), settings.model_path, settings.model_base,
                                  processes.world_size)
            paths = write_results(table, settings.run_dir)
            for row in table["rows"]:
                value = "n/a" if row["value"] is None else f"{row['value']:.4f}"
                print(f"{row['task']}: {row['metric']} = {value} (n={row['n']}, mode {row['mode']}, "
                      f"unparsed={row['unparsed']}, missing={row['missing']})")
            print(f"wrote {paths['md']}, {paths['json']} and {paths['csv']}")
    finally:
        stop_processes(processes)
    return 0


def suite_settings(args, processes, run_dir: Path) -> SuiteSettings:
    """The settings from the flags, with the default device of this process when --device is not given."""
    from ..evaluation.suite_processes import default_device

    values = flag_values(SuiteSettings, args)
    values["device"] = values["device"] or default_device(processes)
    return SuiteSettings(**values, run_dir=run_dir, progress=not args.no_progress)


def _task_options(values):
    from ..evaluation.suite import SuiteError

    options = {}
    for key, value in parse_key_values(values, "--option").items():
        task, dot, name = key.partition(".")
        if not dot or not task or not name:
            raise SuiteError(f"--option {key}={value}: write TASK.KEY=VALUE, e.g. relation.granularity=coarse")
        options.setdefault(task, {})[name] = value
    return options


def _command(args) -> str:
    """The command line that reproduces this run (flags in a fixed order; defaults included)."""
    words = ["socialfusion", "eval-suite"]
    for name in FLAGS:
        value = getattr(args, name, None)
        if value is None or value is False or value == []:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            words += ([flag] + [str(v) for v in value]) if name == "tasks" else [w for v in value for w in (flag, str(v))]
        else:
            words += [flag, str(value)]
    return shlex.join(words)
