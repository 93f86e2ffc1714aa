"""The one base class of user mistakes.

`UserInputError` is what the plugin raises for something the user gave (a file, a record, a flag,
an option): the CLI prints it as one line naming what to fix. Any other exception out of a command
is a bug, in the plugin or below it, and keeps its traceback, so it never looks like a user mistake.

The machine's own faults (a full disk, a read-only or unwritable folder, a file over the size limit)
are no bug either: `environment_fault` finds them in an exception and `describe_environment_fault`
says, in one line, which path and what to do.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from typing import Optional


class UserInputError(ValueError):
    """A mistake in the user's input; the message names the file, record or flag and what to do."""


class CommandError(Exception):
    """An error the user can fix, raised by a command; printed without a traceback."""


class RegistryError(KeyError):
    """Unknown or duplicate registry name; `taken` is the name, for a duplicate."""

    def __init__(self, message: str, taken: Optional[str] = None):
        super().__init__(message)
        self.taken = taken

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


# The machine's faults are reported as one line naming the path and the cause (the CLI exits 2),
# because a traceback adds nothing the user can act on.
DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
ENVIRONMENT_ERRNOS = DISK_FULL + (errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG)


def environment_fault(err: BaseException) -> Optional[OSError]:
    """The OSError of a machine fault in `err` or in what it was raised from (a failed write is often
    followed by a failed close, which names no file: the first one with a file name wins); else None."""
    found, seen = None, set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in ENVIRONMENT_ERRNOS:
            if err.filename is not None:
                return err
            found = found or err
        err = err.__cause__ or err.__context__
    return found


def free_space(path) -> str:
    """'12.0 KiB free on the disk mounted at /mnt' for the file system holding `path` (the nearest
    existing parent's)."""
    mount = os.path.abspath(os.fspath(path))
    while not os.path.exists(mount) and mount != os.path.dirname(mount):
        mount = os.path.dirname(mount)
    while not os.path.ismount(mount):
        mount = os.path.dirname(mount)
    try:
        free = float(shutil.disk_usage(mount).free)
    except OSError:
        return f"the disk mounted at {mount}"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if free < 1024 or unit == "TiB":
            break
        free /= 1024
    amount = f"{int(free)} bytes" if unit == "bytes" else f"{free:.1f} {unit}"
    return f"{amount} free on the disk mounted at {mount}"


def describe_environment_fault(err: OSError, where: Optional[str] = None, near=None) -> str:
    """One line: the path (or, when the system named none, `where`: the flag or output being written,
    on the disk holding `near`) and the cause, with what to do."""
    path = err.filename
    subject = f"{path}" if path is not None else (where or "writing an output")
    if err.errno in DISK_FULL:
        on = path if path is not None else near
        disk = free_space(on) if on is not None else "the output's disk"
        return f"{subject}: no space left on the device ({disk}); free some space or write elsewhere"
    if err.errno == errno.EROFS:
        return f"{subject}: the file system is read-only; give a path on a writable disk"
    if err.errno == errno.EFBIG:
        return (f"{subject}: file too large (the file system's limit, or this process's file size limit: "
                "see `ulimit -f`)")
    return f"{subject}: permission denied ({err.strerror or 'not writable'})"


# How a command's exception becomes its one line (the CLI and `python -m socialfusion_plugin.train`).
OUTPUT_FLAGS = ("out", "report", "manifest", "cache_dir", "output_dir")
# What a user can fix, printed as one line: the plugin's own user errors, a registry lookup of an
# unknown name, an unusable environment (host.versions.HostEnvironmentError is a UserInputError), and
# files that are missing, unreadable or not JSON/UTF-8. Anything else is a bug and keeps its traceback.
USER_ERRORS = (CommandError, UserInputError, RegistryError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
               PermissionError, json.JSONDecodeError, UnicodeDecodeError)


def one_line(err: BaseException, args=None) -> Optional[str]:
    """The message of a user error, or of a machine fault (disk full, read-only, not permitted) found
    in `err` or what it was raised from; None for anything else (a bug: it keeps its traceback)."""
    if not isinstance(err, (CommandError, UserInputError, RegistryError)):  # the plugin's own words come first
        fault = environment_fault(err)
        if fault is not None:
            # what the command was writing (`--out X`), for a fault whose system error names no file
            flags = [name for name in OUTPUT_FLAGS if getattr(args, name, None) is not None]
            writing = ", ".join(f"--{name.replace('_', '-')} {getattr(args, name)}" for name in flags)
            return describe_environment_fault(fault, f"writing {writing}" if flags else "writing an output",
                                              getattr(args, flags[0]) if flags else None)
    return str(err) if isinstance(err, USER_ERRORS) else None


class CheckpointError(UserInputError):
    """A checkpoint folder that cannot be loaded as asked; the message says what is missing."""
