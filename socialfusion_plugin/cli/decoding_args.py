"""The decoding flags `eval` and `eval-suite` share, made from the fields of
evaluation.runner.DecodingSettings (name, type, default, help), so each is declared once."""
from __future__ import annotations

import dataclasses

from ..evaluation.runner import DecodingSettings
from .dataclass_flags import add_dataclass_arguments

# the flags' names as parsed (--batch-size -> batch_size)
DECODING_FLAGS = tuple(field.name for field in dataclasses.fields(DecodingSettings))


def add_decoding_arguments(parser) -> None:
    add_dataclass_arguments(parser, DecodingSettings)
