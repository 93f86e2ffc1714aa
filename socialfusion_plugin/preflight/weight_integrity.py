"""Whether a weight file is complete, from its own header and end: a copy or download cut short is
found before any model loads, instead of as a deserialization traceback minutes in (at 7B).

- `.safetensors`: the 8-byte header length, the JSON header, and the file size against the end of
  the last tensor the header lists.
- torch files (`.bin`, `.pt`, `.pth`): torch.save writes a zip archive; a cut one has no end of
  central directory. A legacy pickle file (torch < 1.6) cannot be checked this way and passes.
`weight_file_problem` reads a few KiB of headers per file, never the tensors.

`non_finite_tensor_problem` does read the tensors, one at a time: it is asked only of the weights a
run trained (the connector and the LoRA adapters: megabytes to a few hundred), where a NaN or an
infinity means a diverged run or a damaged file, and the loaded model would answer "" to everything.
"""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from typing import Iterator, Optional, Tuple

MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024  # the format's own limit for the JSON header


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
    if first[:1] == b"\x80":  # a pickle's PROTO opcode: the legacy (pre-zip) torch.save format
        return None  # no end record to check
    if first == b"PK":
        return None if zipfile.is_zipfile(path) else (f"{path} is a cut torch archive (no end of its zip directory): "
                                                        "was the download or the save interrupted?")
    return f"{path} is not a torch weight file (neither a torch zip archive nor a pickle)"


def non_finite_tensor_problem(path) -> Optional[str]:
    """None when every floating-point tensor in the weight file `path` is finite; otherwise one
    sentence naming the file and the first tensor holding NaN or infinity. A file that cannot be
    read here (a cut one: `weight_file_problem` says so; a pickle that weights_only=True refuses)
    is left to the loader, which names it."""
    import pickle

    import safetensors

    path = Path(path)
    unreadable = (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError,
                  getattr(safetensors, "SafetensorError", OSError))
    try:
        for name, tensor in _tensors(path):
            bad = _non_finite_count(tensor)
            if bad:
                return (f"{path}: tensor {name} holds {bad} NaN or infinite value(s) of {tensor.numel()}: the "
                        "training diverged or the file is damaged, and a model loaded from it answers nothing "
                        "useful; use an earlier checkpoint")
    except unreadable:  # unreadable here: the loader reports it in its own words
        return None
    return None


def _tensors(path: Path) -> Iterator[Tuple[str, object]]:
    """(name, tensor) pairs of a state dict file, one tensor in memory at a time for .safetensors."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt", device="cpu") as handle:
            for name in handle.keys():
                yield name, handle.get_tensor(name)
        return
    # weights_only: only tensors and containers are rebuilt, no code runs (mmap: not all in memory)
    try:  # str: torch 2.1 memory-maps only a file named by a string
        state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # a legacy (pre-zip) file cannot be memory-mapped
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict):
        for name, tensor in state.items():
            if isinstance(tensor, torch.Tensor):
                yield str(name), tensor


def _non_finite_count(tensor) -> int:
    import torch

    if not tensor.is_floating_point() or tensor.numel() == 0:
        return 0
    try:
        finite = torch.isfinite(tensor)
    except RuntimeError:  # a half-precision op this torch lacks on the CPU
        finite = torch.isfinite(tensor.float())
    return int(finite.numel() - finite.sum())
