"""The answer the model learns (the label text) and the tolerant parser that reads it back.

The parser knows both vocabularies (fine and coarse) whatever the options say, because a score run
may not repeat the conversion options: the scorer maps the parsed label into the references'
granularity (see labels.label_for)."""
from __future__ import annotations

from pathlib import Path

from ..phrase_matching import SynonymParser
from .labels import LABELS

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")
ALL_LABELS = tuple(dict.fromkeys(LABELS["fine"] + LABELS["coarse"]))


# A fine or coarse label named in `text`, or None. Never raises on any input.
parse_relation = SynonymParser(SYNONYMS_FILE, ALL_LABELS, "relation label")
