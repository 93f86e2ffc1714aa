"""Where and how a command runs a model: the settings `eval`, `eval-suite`, `probe` and `conflict`
share (and `merge`, for device and dtype).

Each field is declared once, here, with its flag's help (cli/flags.py makes the flags). A command's
settings class extends `RunSettings` and may name a field again with only another default (probe
and conflict run on cpu in float32 unless told otherwise); the flag keeps this declaration.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .errors import UserInputError

DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    device: Optional[str] = field(default=None, metadata={
        "help": "cpu, cuda, cuda:1, ... (default: %(default)s)",
        "if_none": "cuda when available, one GPU per process under a launcher; else cpu"})
    dtype: Optional[str] = field(default=None, metadata={
        "choices": DTYPES, "help": "dtype the weights are loaded and run in (default: %(default)s)",
        "if_none": "float32 on cpu, float16 on cuda as LLaVA"})
    batch_size: int = field(default=8, metadata={"help": "samples per forward pass (default: %(default)s)"})
    seed: int = field(default=0, metadata={"help": (
        "seed of every random choice of the run (eval: sampling at --temperature > 0; probe: subsampling; conflict: "
        "batches and fresh weights); the same inputs and seed give the same outputs (default: %(default)s)")})

    def __post_init__(self):
        if int(self.batch_size) < 1:
            raise UserInputError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise UserInputError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
