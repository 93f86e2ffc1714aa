"""The answer the model learns (the label text) and the tolerant parser that reads it back.

The parser knows both vocabularies (fine and coarse) whatever the options say, because a score run
may not repeat the conversion options: the scorer maps the parsed label into the references'
granularity (see labels.label_for)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

from ..phrase_matching import PhraseMatcher, load_synonym_matcher
from .labels import LABELS

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")
ALL_LABELS = tuple(dict.fromkeys(LABELS["fine"] + LABELS["coarse"]))


def format_relation(label: str) -> str:
    return label


def parse_relation(text: object) -> Optional[str]:
    """A fine or coarse label named in `text`, or None. Never raises on any input."""
    try:
        return _matcher().match(text)
    except Exception:  # the parser contract: an unreadable answer is None, never an exception
        return None


@lru_cache(maxsize=1)
def _matcher() -> PhraseMatcher:
    return load_synonym_matcher(SYNONYMS_FILE, ALL_LABELS, "relation label")
