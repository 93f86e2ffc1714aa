"""PISC label vocabularies. The release stores labels as 1-based numbers; the fine relationship
(relationship.json) and the coarse domain (domain.json) use different files, numbers and splits."""
from __future__ import annotations

from typing import Dict, Optional, Tuple

FINE = "fine"
COARSE = "coarse"
GRANULARITIES = (FINE, COARSE)

LABELS: Dict[str, Tuple[str, ...]] = {
    FINE: ("friends", "family", "couple", "professional", "commercial", "no relation"),
    COARSE: ("intimate", "non-intimate", "no relation"),
}

# The domain each fine relationship belongs to (PISC's hierarchy), so a fine answer can be scored
# against coarse references.
FINE_TO_COARSE: Dict[str, str] = {
    "friends": "intimate",
    "family": "intimate",
    "couple": "intimate",
    "professional": "non-intimate",
    "commercial": "non-intimate",
    "no relation": "no relation",
}

# (labels file, split folder, split file pattern) per granularity.
RELEASE_FILES: Dict[str, Tuple[str, str, str]] = {
    FINE: ("relationship.json", "relationship_split", "relation_{split}idx.json"),
    COARSE: ("domain.json", "domain_split", "domain_{split}idx.json"),
}


def label_from_number(raw: object, granularity: str) -> Optional[str]:
    """The label a release number (int, or a digit string) stands for, or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():  # not "³" or "１"
        raw = int(raw.strip())
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int):
        return None
    names = LABELS[granularity]
    return names[raw - 1] if 1 <= raw <= len(names) else None


def label_for(predicted: Optional[str], granularity: str) -> Optional[str]:
    """A parsed answer expressed in `granularity`'s label set (fine answers map to their domain
    for coarse references); None when it has no meaning there (e.g. "intimate" for fine)."""
    if granularity == COARSE and predicted in FINE_TO_COARSE:
        return FINE_TO_COARSE[predicted]
    return predicted if predicted in LABELS[granularity] else None
