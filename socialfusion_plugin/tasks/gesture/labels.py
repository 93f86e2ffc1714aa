"""HaGRIDv2 label vocabulary: the 34 canonical class names in the reference id order, and the
spellings older releases and archive names use for them."""
from __future__ import annotations

from typing import Optional, Tuple

NO_GESTURE = "no_gesture"

# Ids 0-33 in this order (hukenovs/hagrid configs `targets`); the order is part of the interface:
# `socialfusion tasks` lists it and ranking mode enumerates answers in it.
GESTURE_LABELS: Tuple[str, ...] = (
    "grabbing", "grip", "holy", "point", "call", "three3", "timeout", "xsign",
    "hand_heart", "hand_heart2", "little_finger", "middle_finger", "take_picture", "dislike",
    "fist", "four", "like", "mute", "ok", "one", "palm", "peace", "peace_inverted", "rock",
    "stop", "stop_inverted", "three", "three2", "two_up", "two_up_inverted", "three_gun",
    "thumb_index", "thumb_index2", NO_GESTURE,
)

TWO_HANDED: Tuple[str, ...] = (
    "hand_heart", "hand_heart2", "thumb_index2", "timeout", "holy", "take_picture", "xsign",
)

_CANONICAL = frozenset(GESTURE_LABELS)

# The download archive (and so the annotation file and image folder) of hand_heart2 is named
# hands_heart2; the other spelling variants come from HaGRID v1 ("two up inverted", "no gesture").
_ALIASES = {"hands_heart2": "hand_heart2", "hands_heart": "hand_heart"}


def canonical_label(raw: object) -> Optional[str]:
    """The canonical name of a label as written in any release, or None when it is not a label."""
    if not isinstance(raw, str):
        return None
    name = "_".join(raw.strip().lower().replace("-", " ").split())
    name = _ALIASES.get(name, name)
    return name if name in _CANONICAL else None


def folder_candidates(class_name: str) -> Tuple[str, ...]:
    """Image-folder names that may hold the images of `class_name` (canonical first)."""
    aliases = tuple(alias for alias, target in sorted(_ALIASES.items()) if target == class_name)
    return (class_name,) + aliases


def label_names(keep_no_gesture: bool) -> Tuple[str, ...]:
    return GESTURE_LABELS if keep_no_gesture else tuple(n for n in GESTURE_LABELS if n != NO_GESTURE)
