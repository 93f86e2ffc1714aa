"""Cheap, content-sensitive fingerprints of files for feature-cache keys.

A weights file can be many GB (a VLM's shards: tens of GB), and hashing it fully on every probe run
would cost more than a cache hit saves. The fingerprint therefore hashes the file's size, its
modification time and its first and last 4 MiB: a re-downloaded or re-trained checkpoint changes at
least one of them in practice. Images are keyed by path, size and modification time.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

EDGE_BYTES = 4 * 1024 * 1024


def file_fingerprint(path: Path) -> str:
    stat = os.stat(path)
    digest = hashlib.sha256(f"{stat.st_size}|{stat.st_mtime_ns}".encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(EDGE_BYTES))
        if stat.st_size > 2 * EDGE_BYTES:
            handle.seek(stat.st_size - EDGE_BYTES)
            digest.update(handle.read(EDGE_BYTES))
    return digest.hexdigest()


def files_fingerprint(paths: Iterable[Path]) -> str:
    """One fingerprint over several files (a sharded checkpoint + its config), order-independent."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(f"{path.name}:{file_fingerprint(path)}\n".encode())
    return digest.hexdigest()


def image_key(path: Path) -> str:
    """Path, size and modification time of an image: changes when the file is replaced."""
    stat = os.stat(path)
    return f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
