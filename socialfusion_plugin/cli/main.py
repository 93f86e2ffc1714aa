"""Entry point of the `socialfusion` console script.

Each sub-command lives in its own module exposing `register(subparsers)`; the module list below is
the only place that names them. `train` hands its arguments to LLaVA's own parser untouched.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

COMMAND_MODULES = (
    "tasks_cmd",
    "convert_cmd",
    "score_cmd",
    "train_cmd",
    "merge_cmd",
    "demo_cmd",
)


class CommandError(Exception):
    """An error the user can fix; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialfusion",
        description="SocialFusion for LLaVA: convert social datasets, train, evaluate, diagnose.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `train` forwards everything after it to LLaVA's HfArgumentParser, so it skips argparse here.
    if argv and argv[0] == "train":
        from .train_cmd import run_passthrough

        return run_passthrough(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (CommandError, FileNotFoundError, ValueError, KeyError) as err:
        message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
        print(f"socialfusion {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
