"""Real machine faults for tests: a full disk and a read-only folder.

- `full_disk(path)`: a 1 MiB tmpfs mounted at `path`, then filled by a ballast file until the kernel
  says ENOSPC, so the next byte anything writes there fails as on a real full disk. Needs root (the
  mount): elsewhere the test is skipped, saying so.
- `small_disk(path, size)`: a tmpfs of `size` bytes (for a run that fills it itself).
- `read_only_folder(path)`: a tmpfs mounted read-only (EROFS, which root cannot write either); without
  root, a folder with mode 0o555 (EACCES for everyone but root).
- `file_size_limit(limit)`: a `preexec_fn` for subprocesses setting `ulimit -f`; Python ignores
  SIGXFSZ, so a write past the limit fails with EFBIG instead of killing the process. Needs no root.
"""
from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import subprocess
from pathlib import Path

import pytest


def can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


def mount_tmpfs(path: Path, options: str) -> None:
    if not can_mount():
        pytest.skip("mounting a small tmpfs (a real full or read-only disk) needs root and mount(8)")
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (no CAP_SYS_ADMIN?): {result.stderr.strip()}")


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def small_disk(path: Path, size: int):
    mount_tmpfs(path, f"size={size}")
    try:
        yield path
    finally:
        unmount(path)


def fill(folder: Path) -> None:
    """Write a ballast file until the disk refuses a byte (the kernel's own ENOSPC)."""
    with open(folder / "ballast", "wb", buffering=0) as handle:
        while True:
            try:
                handle.write(b"\0" * 4096)
            except OSError as err:
                assert err.errno == errno.ENOSPC, err
                break
        for _ in range(16):  # tmpfs may still take a few bytes into the last page
            try:
                handle.write(b"\0")
            except OSError:
                break
    assert shutil.disk_usage(folder).free < 4096


@contextlib.contextmanager
def full_disk(path: Path):
    with small_disk(path, 1 << 20):
        fill(path)
        yield path


@contextlib.contextmanager
def read_only_folder(path: Path):
    if can_mount():
        mount_tmpfs(path, "size=64k,ro")
        try:
            yield path
        finally:
            unmount(path)
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)


def file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply
