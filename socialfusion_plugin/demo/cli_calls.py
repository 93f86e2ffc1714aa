"""Running `socialfusion` sub-commands in-process for the demo, their output kept in the log.

The demo drives the same commands a user types, so what it shows is what the CLI does. The command
runner (`socialfusion`'s own `main`) is passed in by the command layer with the log it writes to:
the demo never imports the CLI that runs it."""
from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List

from ..errors import CommandError


class DemoStepError(CommandError):
    """A demo step's command failed; the message names the command and the log."""


@dataclass(frozen=True)
class CommandLog(os.PathLike):
    """The demo's log file (it stands for its path wherever a path is taken) and the runner of the
    `socialfusion` commands whose output goes into it."""
    path: Path
    run_command: Callable[[List[str]], int]

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


@contextlib.contextmanager
def quiet_host_output():
    """LLaVA's loader prints progress and a misleading "newly initialized: mm_projector" warning
    (the connector is loaded right after); the demo keeps its own output readable."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        hf_logging.set_verbosity(verbosity)


def run_cli(argv: List[str], log: CommandLog) -> str:
    """Run `socialfusion <argv>`; returns its stdout; stdout and stderr are appended to the log."""
    from transformers.utils import logging as hf_logging

    out, err = io.StringIO(), io.StringIO()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # LLaVA's loader warns about weights it loads right after
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = log.run_command([str(a) for a in argv])
    finally:
        hf_logging.set_verbosity(verbosity)
    with open(log.path, "a", encoding="utf-8") as handle:
        handle.write(f"$ socialfusion {' '.join(str(a) for a in argv)}\n{out.getvalue()}{err.getvalue()}\n")
    if code != 0:
        tail = (out.getvalue() + err.getvalue()).strip().splitlines()[-15:]
        raise DemoStepError(f"socialfusion {argv[0]} failed (exit {code}); see {log.path}:\n" + "\n".join(tail))
    return out.getvalue()
