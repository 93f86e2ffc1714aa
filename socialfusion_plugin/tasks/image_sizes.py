"""Whether the image a record will read opens, and its size: every reader checks each record's
image here at conversion, so training never meets an image that convert accepted and PIL cannot
open (an empty or corrupt file, a decompression bomb, a file cut short). The size is the image's
own, read per file (never shared by the frames of a clip): the readers of releases that give
boxes or points in pixels without the image size (GazeFollow, VideoAttentionTarget) normalize by it.

Cost: the header is parsed for every image (well under a millisecond); the pixel data is decoded
only when the file does not end as a whole JPEG or PNG does, which is how a cut copy looks.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Optional, Tuple, Union

from .base import Skip
from .paths import ImageIndex

Size = Tuple[int, int]
IMAGE_NOT_FOUND = "image not found"
UNREADABLE_IMAGE = "unreadable image"
# The last bytes of a complete file: JPEG's end-of-image marker, PNG's IEND chunk (type + CRC).
_WHOLE_FILE_ENDINGS = {"JPEG": (b"\xff\xd9",), "PNG": (b"IEND\xaeB`\x82",)}


class ImageSizeCache:
    """(width, height), or why the image is unreadable, per file, read lazily (`read_image_size`).

    Bounded, because GazeFollow has ~120k images; rows of one image are usually close together,
    so a recent-keys cache keeps almost every hit."""

    def __init__(self, max_entries: int = 4096):
        self.max_entries = max_entries
        self._sizes: "OrderedDict[str, Union[Size, str]]" = OrderedDict()

    def size(self, path: Path) -> Union[Size, str]:
        """Size of the image at `path` (cached per file), or why it is unreadable."""
        key = str(path)
        if key in self._sizes:
            self._sizes.move_to_end(key)
            return self._sizes[key]
        size = read_image_size(path)
        self._sizes[key] = size  # a reason is cached too: several records (people) read one image
        if len(self._sizes) > self.max_entries:
            self._sizes.popitem(last=False)
        return size


class ImageFiles:
    """The images under a dataset root that records may use: found (one listing per folder) and
    readable (`read_image_size`, cached per file)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.index = ImageIndex(self.root)
        self.sizes = ImageSizeCache()

    def exists(self, relative: str) -> bool:
        return self.index.exists(relative)

    def check(self, relative: str, ref: str) -> Union[Size, Skip]:
        """The image's (width, height), or the counted skip of the record `ref` that would read it."""
        if not self.index.exists(relative):
            return Skip(ref, IMAGE_NOT_FOUND, detail=relative)
        size = self.sizes.size(self.root / relative)
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
    endings = _WHOLE_FILE_ENDINGS.get(image_format or "")
    if not endings:
        return False  # another format: decoded (rare in these releases)
    longest = max(len(ending) for ending in endings)
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - longest))
        tail = handle.read()
    return any(tail.endswith(ending) for ending in endings)
