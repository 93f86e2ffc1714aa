"""Image sizes read from file headers, for readers of releases that give boxes or points in pixels
but not the image size needed to normalize them (GazeFollow, VideoAttentionTarget)."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Optional, Tuple, Union

Size = Tuple[int, int]


class ImageSizeCache:
    """(width, height) per key, read lazily with PIL (`Image.open` parses only the header).

    Bounded, because GazeFollow has ~120k images; rows of one image are usually close together,
    so a recent-keys cache keeps almost every hit."""

    def __init__(self, max_entries: int = 4096):
        self.max_entries = max_entries
        self._sizes: "OrderedDict[str, Size]" = OrderedDict()

    def size(self, path: Path, key: Optional[str] = None) -> Union[Size, str]:
        """Size of the image at `path` (cached under `key`, default the path), or why it is unreadable."""
        key = str(path) if key is None else key
        if key in self._sizes:
            self._sizes.move_to_end(key)
            return self._sizes[key]
        size = read_image_size(path)
        if isinstance(size, str):
            return size  # not cached: under a shared key (a clip) the next frame may still be readable
        self._sizes[key] = size
        if len(self._sizes) > self.max_entries:
            self._sizes.popitem(last=False)
        return size


def read_image_size(path: Path) -> Union[Size, str]:
    """(width, height) from the header, or the reason it cannot be had: an empty or corrupt file,
    a folder, or a decompression bomb (a header claiming more pixels than PIL's MAX_IMAGE_PIXELS
    allows; PIL raises DecompressionBombError, which is not an OSError)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except Image.DecompressionBombError as err:
        return f"decompression bomb ({err})"
    except UnidentifiedImageError:
        return "not an image PIL can identify (empty or corrupt file)"
    except (OSError, ValueError) as err:
        return f"{type(err).__name__}: {err}"
    if width <= 0 or height <= 0:
        return f"image size {width}x{height}"
    return int(width), int(height)
