"""The answer the model learns (the canonical class name) and the tolerant parser that reads it
back from free text, with the synonyms in `synonyms.yaml`."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

import yaml

from .labels import GESTURE_LABELS
from .phrases import PhraseMatcher

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
    with open(SYNONYMS_FILE, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    phrases: Dict[str, str] = {}
    for label in GESTURE_LABELS:
        phrases[label] = label
    for label, synonyms in (data.get("labels") or {}).items():
        if label not in GESTURE_LABELS:
            raise ValueError(f"{SYNONYMS_FILE}: unknown gesture {label!r}")
        for phrase in synonyms or ():
            phrases[str(phrase)] = label
    return PhraseMatcher(phrases, fillers=[str(f) for f in data.get("fillers") or ()])
