"""Safe image paths for converters: annotation files never get to point outside their dataset root,
and image existence is checked through cached directory listings (one listdir per folder instead of
one stat per record, which matters for HaGRID's million images).

Every reader also checks here, at conversion, that each record's image opens, and reads its size, so
training never meets an image that convert accepted and PIL cannot open (an empty or corrupt file, a
decompression bomb, a file cut short). The size is the image's own, read per file (never shared by
the frames of a clip): the readers of releases that give boxes or points in pixels without the image
size (GazeFollow, VideoAttentionTarget) normalize by it. Cost: the header is parsed for every image
(well under a millisecond); the pixel data is decoded only when the file does not end as a whole
JPEG or PNG does, which is how a cut copy looks.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Dict, FrozenSet, Optional, Tuple, Union

from ..errors import UserInputError
from .base import Skip


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
    return "/".join(parts)


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


Size = Tuple[int, int]
IMAGE_NOT_FOUND = "image not found"
UNREADABLE_IMAGE = "unreadable image"
# The last bytes of a complete file: JPEG's end-of-image marker, PNG's IEND chunk (type + CRC).
_WHOLE_FILE_ENDINGS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}


class ImageFiles(ImageIndex):
    """The images under a dataset root that records may use: found (one listing per folder) and
    readable (`read_image_size`, cached per file)."""

    def __init__(self, root: Path):
        super().__init__(root)
        # Bounded, because GazeFollow has ~120k images; rows of one image are usually close together,
        # so a recent-keys cache keeps almost every hit. A reason is cached too: several records
        # (people) read one image.
        self._read_size = functools.lru_cache(maxsize=4096)(read_image_size)

    def check(self, relative: str, ref: str) -> Union[Size, Skip]:
        """The image's (width, height), or the counted skip of the record `ref` that would read it."""
        if not self.exists(relative):
            return Skip(ref, IMAGE_NOT_FOUND, detail=relative)
        size = self._read_size(self.root / relative)
        if isinstance(size, str):
            return Skip(ref, UNREADABLE_IMAGE, detail=f"{relative}: {size}")
        return size


def read_image_size(path: Path) -> Union[Size, str]:
    """(width, height), or the reason the image cannot be opened as training opens it: an empty or
    corrupt file, a folder, a decompression bomb (a header claiming more pixels than PIL's
    MAX_IMAGE_PIXELS allows; PIL raises DecompressionBombError, which is not an OSError), or pixel
    data cut short (decoded only when the file does not end as a complete JPEG or PNG does)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if not _ends_whole(path, image.format):
                image.draft("RGB", (1, 1))  # a JPEG decodes at 1/8 scale: every byte read, few pixels made
                image.load()
    except Image.DecompressionBombError as err:
        return f"decompression bomb ({err})"
    except UnidentifiedImageError:
        return "not an image PIL can identify (empty or corrupt file)"
    except (OSError, ValueError, SyntaxError, EOFError) as err:  # what PIL raises on bad bytes
        return f"{type(err).__name__}: {err}"
    if width <= 0 or height <= 0:
        return f"image size {width}x{height}"
    return int(width), int(height)


def _ends_whole(path: Path, image_format: Optional[str]) -> bool:
    ending = _WHOLE_FILE_ENDINGS.get(image_format or "")
    if not ending:
        return False  # another format: decoded (rare in these releases)
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - len(ending)))
        return handle.read() == ending
