"""Checks of one LLaVA record's structure, the ones LLaVA itself would only trip over mid-run."""
from __future__ import annotations

from typing import Any, List, Tuple

IMAGE_TOKEN = "<image>"
ROLES = ("human", "gpt")

# Finding kinds (stable names: the report and the tests use them)
MALFORMED = "malformed record"
IMAGE_MISSING = "image missing"
IMAGE_UNREADABLE = "image unreadable"
IMAGE_OUTSIDE = "image path outside image folder"
IMAGE_TOKEN_COUNT = "<image> count does not match the image"
TURN_ORDER = "turn order"
EMPTY_TURN = "empty turn"
LABELS_MASKED = "labels fully masked"
TOO_LONG = "longer than model_max_length"
FINDING_KINDS = (MALFORMED, IMAGE_OUTSIDE, IMAGE_MISSING, IMAGE_UNREADABLE, IMAGE_TOKEN_COUNT, TURN_ORDER,
                 EMPTY_TURN, LABELS_MASKED, TOO_LONG)


def structure_findings(record: Any) -> List[Tuple[str, str]]:
    """(kind, detail) for each structural problem; an empty list means LLaVA can preprocess it."""
    if not isinstance(record, dict):
        return [(MALFORMED, f"a record is an object, got {type(record).__name__}")]
    if "image" in record and not isinstance(record["image"], str):
        return [(MALFORMED, "'image' must be one path string (LLaVA trains on one image per sample)")]
    turns = record.get("conversations")
    if not isinstance(turns, list) or not turns:
        return [(MALFORMED, "'conversations' must be a non-empty list of turns")]
    findings: List[Tuple[str, str]] = []
    image_tokens = 0
    for position, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str) or "from" not in turn:
            return [(MALFORMED, f"turn {position} must be an object with 'from' and a string 'value'")]
        expected = ROLES[position % 2]
        if turn["from"] != expected:
            findings.append((TURN_ORDER, f"turn {position} is from {turn['from']!r}, expected {expected!r} "
                                         "(turns alternate human, gpt, starting with human)"))
        if not turn["value"].strip():
            findings.append((EMPTY_TURN, f"turn {position} ({turn['from']}) is empty"))
        image_tokens += turn["value"].count(IMAGE_TOKEN)
    if len(turns) % 2 == 1 and not any(kind == TURN_ORDER for kind, _ in findings):
        findings.append((TURN_ORDER, f"the last turn ({len(turns) - 1}) is a question without an answer"))
    wanted = 1 if "image" in record else 0
    if image_tokens != wanted:
        has = "has an image" if wanted else "has no image"
        findings.append((IMAGE_TOKEN_COUNT, f"the record {has} but its turns contain {image_tokens} {IMAGE_TOKEN} "
                                            f"token(s); LLaVA needs exactly {wanted}"))
    return findings


def check_image(path: str) -> Tuple[str, str]:
    """('', '') when the image decodes; otherwise (kind, detail)."""
    import os

    from PIL import Image

    if not os.path.isfile(path):
        return IMAGE_MISSING, path
    try:
        with Image.open(path) as image:
            image.load()  # a full decode: truncated files pass Image.verify() but fail in training
    except Exception as err:  # PIL raises many types (OSError, SyntaxError, DecompressionBombError...)
        return IMAGE_UNREADABLE, f"{path}: {type(err).__name__}: {err}"
    return "", ""
