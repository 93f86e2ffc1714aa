"""Operating-system errors on the user's files (a file that cannot be read, a folder where a file
should be, a file where a folder should be) as one-line CommandErrors naming the path; and the check,
before a command does any work, that every output it will write can be written.

Only these, at the command's boundary: anything else, a bug included, keeps its traceback. (A disk
that fills up during the work is reported by the CLI's handler, cli/main.py.)"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional, Tuple

from .main import CommandError


@contextlib.contextmanager
def file_errors_as_command_errors() -> Iterator[None]:
    try:
        yield
    except (PermissionError, IsADirectoryError, NotADirectoryError) as err:
        raise CommandError(f"{err.filename}: {err.strerror}") from None


def require_writable(files: Tuple[Tuple[str, Optional[Path]], ...] = (),
                     folders: Tuple[Tuple[str, Optional[Path]], ...] = ()) -> None:
    """Raise one CommandError naming every output (`(flag, path)`; None: not given) that cannot be
    written: a read-only or unwritable folder, a folder where a file goes. Only stat calls, so a
    command that is refused has changed nothing, and one that passes does not fail late on these."""
    from ..preflight.locations import output_file_problem, output_folder_problem

    problems = [f"{flag} {problem}" for flag, path in files if path is not None
                for problem in [output_file_problem(path)] if problem]
    problems += [f"{flag} {problem}" for flag, path in folders if path is not None
                 for problem in [output_folder_problem(path)] if problem]
    if problems:
        raise CommandError("; ".join(problems))
