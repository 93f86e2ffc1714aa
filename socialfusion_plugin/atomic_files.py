"""Writing an output file so that no reader ever sees it half-written and no two writers share a
scratch file.

The content goes to a temporary file in the output's folder whose name is unique to the process and
the call (`<name>.<pid>.<random>.partial`); it is flushed to disk and then takes the output's name
with `os.replace`, which is atomic within one file system. Two processes writing the same output
therefore each write their own temporary file, and the output is always one of the two, whole. On
an error (or an interrupt) the temporary file is removed and an earlier output is left as it was.
Every command that writes a file a user keeps (converted data, mixtures, manifests, reports, metrics,
eval info) writes it through here.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import IO, Any, Callable, Iterator
from socialfusion_plugin.errors import UserInputError

PARTIAL_SUFFIX = ".partial"


def temporary_path(out: Path) -> Path:
    """`<out>.<pid>.<random>.partial`, beside `out` (same file system, so os.replace is atomic)."""
    out = Path(out)
    return out.with_name(f"{out.name}.{os.getpid()}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")


@contextlib.contextmanager
def atomic_output(out: Path, binary: bool = False, keep: Callable[[], bool] = lambda: True) -> Iterator[IO]:
    """An open handle on a fresh temporary file that becomes `out` when the block ends without an
    error and `keep()` is true; otherwise the temporary file is removed and `out` is untouched."""
    out = Path(out)
    if out.is_dir():
        raise UserInputError(f"{out}: is a folder; the output must be a file path")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(out)
    try:
        with open(tmp, "xb") if binary else open(tmp, "x", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if keep():
            os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_text(out: Path, text: str) -> Path:
    with atomic_output(out) as handle:
        handle.write(text)
    return Path(out)


def atomic_write_json(out: Path, value: Any, indent: int = 2, ensure_ascii: bool = True) -> Path:
    """`value` as indented JSON with a final newline (the layout of every report and manifest)."""
    return atomic_write_text(out, json.dumps(value, indent=indent, ensure_ascii=ensure_ascii) + "\n")


class JsonListWriter:
    """`write(encoded_record)` appends one record; `discard()` drops the whole output."""

    def __init__(self, handle: IO):
        self._handle = handle
        self.count = 0
        self.discarded = False

    def __call__(self, text: str) -> None:
        self._handle.write("\n" if self.count == 0 else ",\n")
        self._handle.write(text)
        self.count += 1

    write = __call__

    def discard(self) -> None:
        """Leave no output at all (and an earlier file at the output path as it was)."""
        self.discarded = True


@contextlib.contextmanager
def atomic_json_list(out: Path) -> Iterator[JsonListWriter]:
    """One JSON list of already-encoded records, streamed (memory stays flat) to a temporary file
    that becomes `out` only when the block ends without an error and was not discarded."""
    writer = None
    with atomic_output(out, keep=lambda: writer is not None and not writer.discarded) as handle:
        writer = JsonListWriter(handle)
        handle.write("[")
        yield writer
        handle.write("\n]\n")
