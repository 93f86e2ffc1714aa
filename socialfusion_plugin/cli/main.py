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


def command_modules() -> List[str]:
    folder = str(Path(__file__).parent)
    return sorted(info.name for info in pkgutil.iter_modules([folder]) if info.name.endswith("_cmd"))


class CommandError(Exception):
    """An error the user can fix; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialfusion",
        description="SocialFusion for LLaVA: convert social datasets, train, evaluate, diagnose.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in command_modules():
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
    except user_errors() as err:
        message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
        print(f"socialfusion {args.command}: error: {message}", file=sys.stderr)
        return 2


def user_errors() -> tuple:
    """What a user can fix, printed as one line: the plugin's own user errors, a registry lookup of an
    unknown name, an unusable environment, and files that are missing, unreadable or not JSON/UTF-8.
    Anything else is a bug and shows its traceback."""
    import json

    from ..errors import UserInputError  # also host.versions.HostEnvironmentError
    from ..registry import RegistryError

    return (CommandError, UserInputError, RegistryError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
            PermissionError, json.JSONDecodeError, UnicodeDecodeError)


if __name__ == "__main__":
    sys.exit(main())
