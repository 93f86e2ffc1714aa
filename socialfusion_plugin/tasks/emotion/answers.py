"""Answer text: categories in the canonical order ("Engagement, Happiness, Pleasure"), optionally
followed by the continuous ratings ("; valence 6, arousal 4, dominance 7"); and the lenient
reading of a model's answer back into categories (and ratings, when it gives them)."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional

from .labels import CATEGORIES, SYNONYMS, in_canonical_order
from .persons import VAD_KEYS


def _rating(value: float) -> str:
    # train ratings are integers 1-10 ("6"); combined val/test ratings can be annotator means ("5.25")
    return f"{round(float(value), 2):g}"


def format_categories_answer(target: Mapping[str, Any], include_vad: bool) -> str:
    text = ", ".join(in_canonical_order(target["categories"]))
    vad = target.get("vad")
    if include_vad and vad:
        text += "; " + ", ".join(f"{key} {_rating(vad[key])}" for key in VAD_KEYS)
    return text


def _phrase_pattern(phrase: str) -> str:
    # "doubt/confusion" and "doubt / confusion" alike; spaces in phrases match any whitespace
    parts = [re.escape(p) for p in re.split(r"\s*/\s*|\s+", phrase)]
    joiner = r"\s*/\s*" if "/" in phrase else r"\s+"
    return joiner.join(parts)


def _build_lexicon() -> Dict[str, str]:
    lexicon = {name.lower(): name for name in CATEGORIES}
    lexicon.update({word.lower(): name for word, name in SYNONYMS.items()})
    return lexicon


_LEXICON = _build_lexicon()
# Longest phrases first, so "doubt/confusion" wins over "doubt" and "in pain" over "pain".
_CATEGORY_PATTERN = re.compile(
    r"(?<![\w-])(" + "|".join(_phrase_pattern(p) for p in sorted(_LEXICON, key=len, reverse=True)) + r")(?![\w-])",
    re.IGNORECASE,
)
_VAD_PATTERN = re.compile(r"\b(valence|arousal|dominance)\b\s*(?:[:=]|is|of)?\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _categories(text: str) -> List[str]:
    found = []
    for match in _CATEGORY_PATTERN.finditer(text):
        key = _SPACES.sub(" ", match.group(1).lower())
        key = re.sub(r"\s*/\s*", "/", key)
        name = _LEXICON.get(key)
        if name is not None:
            found.append(name)
    return in_canonical_order(found)


def parse_emotion_answer(text: Any) -> Optional[Dict[str, Any]]:
    """{"categories": [...canonical order], "vad": {valence, arousal, dominance} or None}, or None
    when no category is recognized. Separators (commas, "and", semicolons, newlines) and unknown
    words are ignored; ratings count only when all three are given. Never raises."""
    if not isinstance(text, str) or not text.strip():
        return None
    ratings: Dict[str, float] = {}
    for match in _VAD_PATTERN.finditer(text):
        ratings.setdefault(match.group(1).lower(), float(match.group(2)))
    # ratings are removed first so their words and numbers cannot be read as categories
    remainder = _VAD_PATTERN.sub(" ", text)
    categories = _categories(remainder)
    if not categories:
        return None
    vad = {key: ratings[key] for key in VAD_KEYS} if all(key in ratings for key in VAD_KEYS) else None
    return {"categories": categories, "vad": vad}
