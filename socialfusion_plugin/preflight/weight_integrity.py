"""Whether a weight file is complete, from its own header and end: a copy or download cut short is
found before any model loads, instead of as a deserialization traceback minutes in (at 7B).

- `.safetensors`: the 8-byte header length, the JSON header, and the file size against the end of
  the last tensor the header lists.
- torch files (`.bin`, `.pt`, `.pth`): torch.save writes a zip archive; a cut one has no end of
  central directory. A legacy pickle file (torch < 1.6) cannot be checked this way and passes.
Reads a few KiB of headers per file, never the tensors.
"""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import Optional

MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024  # the format's own limit for the JSON header
PICKLE_PROTOCOL_BYTE = 0x80


def weight_file_problem(path) -> Optional[str]:
    """None when `path` looks complete; otherwise one sentence naming the file and what is wrong."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return f"{path} is empty (0 bytes): was the download or the save interrupted?"
    if path.suffix == ".safetensors":
        return _safetensors_problem(path, size)
    if path.suffix in (".bin", ".pt", ".pth"):
        return _torch_file_problem(path)
    return None


def _safetensors_problem(path: Path, size: int) -> Optional[str]:
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return f"{path} is truncated: {size} bytes, shorter than a safetensors header"
        (length,) = struct.unpack("<Q", head)
        if length > MAX_SAFETENSORS_HEADER or 8 + length > size:
            return f"{path} is truncated or not safetensors: its header claims {length} bytes, the file has {size}"
        try:
            header = json.loads(handle.read(length))
        except (ValueError, UnicodeDecodeError) as err:
            return f"{path} has a corrupt safetensors header ({type(err).__name__})"
    if not isinstance(header, dict):
        return f"{path} has a corrupt safetensors header (not a JSON object)"
    ends = [entry.get("data_offsets", [0, 0])[1] for key, entry in header.items()
            if key != "__metadata__" and isinstance(entry, dict)]
    needed = 8 + length + max((int(end) for end in ends if isinstance(end, int)), default=0)
    if size < needed:
        return (f"{path} is truncated: {size} bytes, its header lists tensors up to byte {needed}; "
                "was the download or the save interrupted?")
    return None


def _torch_file_problem(path: Path) -> Optional[str]:
    with open(path, "rb") as handle:
        first = handle.read(2)
    if first[:1] == bytes([PICKLE_PROTOCOL_BYTE]):
        return None  # legacy (pre-zip) torch.save format: no end record to check
    if first == b"PK" and zipfile.is_zipfile(path):
        return None
    if first == b"PK":
        return f"{path} is a cut torch archive (no end of its zip directory): was the download or the save interrupted?"
    return f"{path} is not a torch weight file (neither a torch zip archive nor a pickle)"
