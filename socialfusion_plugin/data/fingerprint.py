"""Fingerprints of a mixture's inputs: what the conversion cache is keyed by and what the mix
manifest records, so a changed input is never served from a stale cache."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_fingerprint(root: Path) -> str:
    """Every file under `root` by (relative path, size, mtime): an added, removed or rewritten
    annotation or image changes it. Stats, not contents: a release holds up to a million images,
    and hashing their bytes would cost more than converting them."""
    digest = hashlib.sha256()
    root = Path(root)
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        relative_folder = os.path.relpath(folder, root)
        for name in sorted(files):
            try:
                stat = os.stat(os.path.join(folder, name))
            except OSError:  # a dangling link: record that it is there, unreadable
                digest.update(f"{relative_folder}/{name}\0missing\n".encode("utf-8", "surrogateescape"))
                continue
            digest.update(f"{relative_folder}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
                          .encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def combine(parts: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()
