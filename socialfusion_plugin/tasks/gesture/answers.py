"""The answer the model learns (the canonical class name) and the tolerant parser that reads it
back from free text, with the synonyms in `synonyms.yaml`."""
from __future__ import annotations

from pathlib import Path

from ..phrase_matching import SynonymParser
from .labels import GESTURE_LABELS

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")


# Canonical gesture name named in `text`, or None. Never raises on any input.
parse_gesture = SynonymParser(SYNONYMS_FILE, GESTURE_LABELS, "gesture")
