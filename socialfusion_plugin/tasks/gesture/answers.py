"""The answer the model learns (the canonical class name) and the tolerant parser that reads it
back from free text, with the synonyms in `synonyms.yaml`."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

from ..phrase_matching import PhraseMatcher, load_synonym_matcher
from .labels import GESTURE_LABELS

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")


def format_gesture(label: str) -> str:
    return label


def parse_gesture(text: object) -> Optional[str]:
    """Canonical gesture name named in `text`, or None. Never raises on any input."""
    try:
        return _matcher().match(text)
    except Exception:  # the parser contract: an unreadable answer is None, never an exception
        return None


@lru_cache(maxsize=1)
def _matcher() -> PhraseMatcher:
    return load_synonym_matcher(SYNONYMS_FILE, GESTURE_LABELS, "gesture")
