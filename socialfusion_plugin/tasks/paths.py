"""Safe image paths for converters: annotation files never get to point outside their dataset root,
and image existence is checked through cached directory listings (one listdir per folder instead of
one stat per record, which matters for HaGRID's million images)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, FrozenSet
from socialfusion_plugin.errors import UserInputError


class PathEscapeError(UserInputError):
    """An annotation's image path would leave the dataset root."""


def safe_relative_path(root: Path, relative: str, where: str = "") -> str:
    """Normalize `relative` ('/' or '\\' separated) and refuse anything that escapes `root`.

    Returns the '/'-separated relative path. Absolute paths and '..' components that climb out of
    the root are refused with PathEscapeError naming `where`. The check is lexical on purpose:
    datasets are often assembled from symlinked folders, and following links is the user's choice.
    """
    # Plain string operations: this runs once per record (a million times for HaGRID).
    text = str(relative).replace("\\", "/").strip()
    label = f"{where}: " if where else ""
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise PathEscapeError(f"{label}image path {relative!r} must be relative to the dataset root")
    parts = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise PathEscapeError(f"{label}image path {relative!r} escapes the dataset root {root}")
            parts.pop()
            continue
        parts.append(part)
    if not parts:
        raise PathEscapeError(f"{label}image path {relative!r} names no file")
    normalized = "/".join(parts)
    return normalized


class ImageIndex:
    """Answers "is root/<relative> a file?" with one cached directory listing per folder (a folder
    named like an image is not one)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._listings: Dict[str, FrozenSet[str]] = {}

    def exists(self, relative: str) -> bool:
        folder, _, name = relative.rpartition("/")
        listing = self._listings.get(folder)
        if listing is None:
            try:
                with os.scandir(self.root / folder if folder else self.root) as entries:
                    # is_dir() comes from the listing itself (no stat) except for links
                    listing = frozenset(entry.name for entry in entries if not entry.is_dir())
            except (FileNotFoundError, NotADirectoryError):
                listing = frozenset()
            self._listings[folder] = listing
        return name in listing
