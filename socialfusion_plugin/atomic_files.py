"""Writing an output file so that no reader ever sees it half-written and no two writers share a
scratch file.

The content goes to a temporary file in the output's folder whose name is unique to the process and
the call (`<name>.<pid>.<random>.partial`); it is flushed to disk and then takes the output's name
with `os.replace`, which is atomic within one file system. Two processes writing the same output
therefore each write their own temporary file, and the output is always one of the two, whole. On
an error (or an interrupt) the temporary file is removed and an earlier output is left as it was.
Every command that writes a file a user keeps (converted data, mixtures, manifests, reports, metrics,
eval info) writes it through here.

A run killed outright (kill -9, power loss) cannot remove its temporary file. The writer holds an
flock on its temporary file until it has renamed it, so the next write to the same output can tell
an abandoned one (nobody holds it, its process is gone) from a live writer's, removes it, and says so.

`sole_writer(out)` is the other half: one run at a time per output (`eval`, `mix`), through
`<out>.lock`, which is removed when the run ends, whatever way it ends short of a kill.
"""
from __future__ import annotations

import contextlib
import errno
import glob
import itertools
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional
from socialfusion_plugin.errors import DISK_FULL, UserInputError

WRITE_FAULTS = DISK_FULL + (errno.EFBIG, errno.EROFS)

PARTIAL_SUFFIX = ".partial"

try:  # POSIX; elsewhere abandoned temporary files are left alone and sole_writer uses filelock
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_abandoned_partials(out: Path) -> list:
    """Remove the temporary files that earlier runs into `out` left behind when they were killed, one
    stderr note each, and return their paths. A file is abandoned only when both its process (the pid
    in its name) is gone and no one holds its flock: a live writer's file, in this process, another
    one or on another machine sharing the folder, is never touched."""
    if fcntl is None:
        return []
    out = Path(out)
    name = re.compile(re.escape(out.name) + r"\.(\d+)\.[0-9a-f]{8}" + re.escape(PARTIAL_SUFFIX) + "$")
    removed = []
    candidates = os.path.join(glob.escape(str(out.parent)), glob.escape(out.name) + ".*" + PARTIAL_SUFFIX)
    for found in sorted(glob.glob(candidates)):
        match = name.match(os.path.basename(found))
        if match is None or _process_exists(int(match.group(1))):
            continue
        try:
            handle = open(found, "rb")
        except OSError:  # gone already (another run removed it), or not ours to read
            continue
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held (a writer in another pid namespace or on another machine), or no flock here
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(found)
                removed.append(Path(found))
                print(f"note: removed {found}, the temporary file of an earlier run into {out} that was killed "
                      f"before it finished (process {match.group(1)})", file=sys.stderr)
    return removed


@contextlib.contextmanager
def sole_writer(out: Path, busy: Optional[Callable[[Path], Exception]]) -> Iterator[None]:
    """Hold `<out>.lock` for the block, or raise `busy(lock path)` at once when another process holds it
    (`busy` None: wait for it instead, as processes do that build one shared cache entry).

    The lock is an flock on that file, so a run that dies, however, releases it; the file itself is
    removed when the block ends (while still held, and a run that opened the old file checks it
    still has the name before trusting its lock), so no finished or failed run leaves a `.lock`
    behind. Folders made for it that stay empty are removed again."""
    out = Path(out)
    lock_path = Path(str(out) + ".lock")
    made = _make_folders(out.parent)
    try:
        if fcntl is None:  # pragma: no cover - not POSIX
            from filelock import FileLock, Timeout

            lock = FileLock(str(lock_path), timeout=-1 if busy is None else 0)
            try:
                lock.acquire()
            except Timeout:
                raise busy(lock_path) from None
            try:
                yield
            finally:
                lock.release()
            return
        descriptor = _lock_named(lock_path, busy)
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)
            os.close(descriptor)
    finally:
        for folder in made:  # deepest first; one that now holds anything stays
            with contextlib.suppress(OSError):
                folder.rmdir()


def _lock_named(lock_path: Path, busy: Optional[Callable[[Path], Exception]]) -> int:
    while True:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if busy is None else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise busy(lock_path) from None
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(descriptor), os.stat(lock_path)):
                return descriptor
        os.close(descriptor)  # its holder removed it after we opened it: lock the file now under the name


def _make_folders(folder: Path) -> list:
    """Create `folder` and its missing parents; the ones created, deepest first."""
    missing = list(itertools.takewhile(lambda each: not each.exists(), [folder, *folder.parents]))
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):
            each.mkdir()
    return missing


@contextlib.contextmanager
def atomic_output(out: Path, binary: bool = False, keep: Callable[[], bool] = lambda: True) -> Iterator[IO]:
    """An open handle on a fresh temporary file that becomes `out` when the block ends without an
    error and `keep()` is true; otherwise the temporary file is removed and `out` is untouched."""
    out = Path(out)
    if out.is_dir():
        raise UserInputError(f"{out}: is a folder; the output must be a file path")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    remove_abandoned_partials(out)
    try:
        with open(tmp, "xb") if binary else open(tmp, "x", encoding="utf-8") as handle:
            # an exclusive flock marks a live writer's file; on a file system without flock it stays
            # unmarked, and remove_abandoned_partials, unable to lock it either, leaves it alone
            if fcntl is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            if keep():  # renamed while still held, so no other run ever takes it for an abandoned file
                os.replace(tmp, out)
    except OSError as err:
        # a write or close on the handle that fails (disk full, file too large) names no file: name the output
        if err.filename is None and err.errno in WRITE_FAULTS:
            raise OSError(err.errno, err.strerror, str(out)) from err
        raise
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


@dataclass
class JsonListWriter:
    """`writer(encoded_record)` appends one record; `discard()` leaves no output at all (and an
    earlier file at the output path as it was)."""

    handle: IO
    count: int = 0
    discarded: bool = False

    def __call__(self, text: str) -> None:
        self.handle.write((",\n" if self.count else "\n") + text)
        self.count += 1

    def discard(self) -> None:
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
