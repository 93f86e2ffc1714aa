"""Entry point of the `socialfusion` console script.

Each sub-command lives in its own module `cli/<name>_cmd.py` exposing `register(subparsers)`; the
modules are discovered, so adding a command is adding a file. `train` hands its arguments to
LLaVA's own parser untouched.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path
from typing import List, Optional

from ..errors import CommandError, one_line  # noqa: F401 - CommandError: commands import it from here


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialfusion",
        description="SocialFusion for LLaVA: convert social datasets, train, evaluate, diagnose.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    folder = str(Path(__file__).parent)
    for name in sorted(info.name for info in pkgutil.iter_modules([folder]) if info.name.endswith("_cmd")):
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
    except Exception as err:  # noqa: BLE001 - user errors and machine faults are one line; the rest re-raise
        message = one_line(err, args)
        if message is None:
            raise
    print(f"socialfusion {args.command}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    # `python -m socialfusion_plugin.cli.main`: run the imported module, whose CommandError is the one
    # the commands raise (this file's own, as __main__, is a different class the handler would miss)
    from socialfusion_plugin.cli.main import main as imported_main

    sys.exit(imported_main())
