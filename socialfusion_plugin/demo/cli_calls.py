"""Running `socialfusion` sub-commands in-process for the demo, their output kept in the log.

The demo drives the same commands a user types, so what it shows is what the CLI does."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import List


def _command_error():
    from ..cli.main import CommandError

    return CommandError


class DemoStepError(_command_error()):
    """A demo step's command failed; the message names the command and the log."""


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


def run_cli(argv: List[str], log_path: Path) -> str:
    """Run `socialfusion <argv>`; returns its stdout; stdout and stderr are appended to the log."""
    from ..cli.main import main
    from transformers.utils import logging as hf_logging

    out, err = io.StringIO(), io.StringIO()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # LLaVA's loader warns about weights it loads right after
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
    finally:
        hf_logging.set_verbosity(verbosity)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ socialfusion {' '.join(str(a) for a in argv)}\n{out.getvalue()}{err.getvalue()}\n")
    if code != 0:
        tail = (out.getvalue() + err.getvalue()).strip().splitlines()[-15:]
        raise DemoStepError(f"socialfusion {argv[0]} failed (exit {code}); see {log_path}:\n" + "\n".join(tail))
    return out.getvalue()
