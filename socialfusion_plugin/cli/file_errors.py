"""Operating-system errors on the user's files (a file that cannot be read, a folder where a file
should be, a file where a folder should be) as one-line CommandErrors naming the path.

Only these, at the command's boundary: anything else, a bug included, keeps its traceback."""
from __future__ import annotations

import contextlib
from typing import Iterator

from .main import CommandError

FILE_ERRORS = (PermissionError, IsADirectoryError, NotADirectoryError)


@contextlib.contextmanager
def file_errors_as_command_errors() -> Iterator[None]:
    try:
        yield
    except FILE_ERRORS as err:
        raise CommandError(f"{err.filename}: {err.strerror}") from None
