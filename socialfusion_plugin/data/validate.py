"""Validation of a dataset before a job is launched: every problem LLaVA would hit mid-run (or,
worse, train through silently) found up front, with examples and a full report.

Input is a Mixture (a recipe, or one LLaVA JSON + image folder as a one-source mixture in file
order). Structure checks run on every record; images are decoded in a thread pool with a progress
bar; the tokenization checks (labels fully masked, too long) need the host and are passed in as
`label_check` (host/llava/training/label_check.py), so this module stays LLaVA-free.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..atomic_files import atomic_write_json
from ..progress import progress_bar
from .mixture import Mixture

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
    from PIL import Image

    if not os.path.isfile(path):
        return IMAGE_MISSING, path
    try:
        with Image.open(path) as image:
            image.load()  # a full decode: truncated files pass Image.verify() but fail in training
    except Exception as err:  # PIL raises many types (OSError, SyntaxError, DecompressionBombError...)
        return IMAGE_UNREADABLE, f"{path}: {type(err).__name__}: {err}"
    return "", ""

EXAMPLES_PER_KIND = 3
# (mixture, indices of structurally sound records, workers, progress) -> [(index, kind, detail)]
LabelCheck = Callable[[Mixture, List[int], int, bool], List[Tuple[int, str, str]]]


@dataclass
class ValidationReport:
    input: str
    records: int = 0
    findings: List[Dict[str, Any]] = field(default_factory=list)
    checks: Dict[str, Any] = field(default_factory=dict)

    @property
    def by_kind(self) -> Dict[str, int]:
        counts = Counter(finding["kind"] for finding in self.findings)
        return {kind: counts[kind] for kind in FINDING_KINDS if counts[kind]}

    @property
    def records_with_errors(self) -> int:
        return len({finding["index"] for finding in self.findings})

    def to_json(self) -> Dict[str, Any]:
        ordered = sorted(self.findings, key=lambda f: (f["index"], FINDING_KINDS.index(f["kind"])))
        return {"input": self.input, "records": self.records, "records_with_errors": self.records_with_errors,
                "errors": len(self.findings), "by_kind": self.by_kind, "checks": self.checks, "findings": ordered}

    def summary(self) -> str:
        lines = [f"{self.input}: {self.records:,} records, {len(self.findings):,} problems in "
                 f"{self.records_with_errors:,} records"]
        for kind, count in self.by_kind.items():
            lines.append(f"  {kind}: {count:,}")
            examples = sorted((f for f in self.findings if f["kind"] == kind), key=lambda f: f["index"])
            for finding in examples[:EXAMPLES_PER_KIND]:
                where = f"record {finding['index']}" + (f" ({finding['source']})" if finding["source"] else "")
                lines.append(f"    {where} id={finding['id']!r}: {finding['detail']}")
        skipped = [f"{name}: {value}" for name, value in self.checks.items() if value is False]
        if skipped:
            lines.append("  not checked: " + ", ".join(skipped))
        return "\n".join(lines)

    def write(self, path: Path) -> None:
        atomic_write_json(path, self.to_json(), ensure_ascii=False)


def validate_mixture(mixture: Mixture, input_name: str, label_check: Optional[LabelCheck] = None,
                     check_images: bool = True, workers: int = 8, progress: bool = True) -> ValidationReport:
    report = ValidationReport(input=input_name, records=len(mixture))
    sound: List[int] = []
    images: Dict[str, List[int]] = {}
    ids: Dict[int, Any] = {}

    def add(index: int, kind: str, detail: str) -> None:
        source = "" if len(mixture.plans) == 1 else mixture.source_name(index)
        report.findings.append({"index": index, "id": ids[index], "source": source, "kind": kind, "detail": detail})

    for index in progress_bar(range(len(mixture)), enabled=progress, description="check records"):
        raw = json.loads(mixture.raw_text(index))
        ids[index] = raw.get("id") if isinstance(raw, dict) else None
        problems = structure_findings(raw)
        for kind, detail in problems:
            add(index, kind, detail)
        if any(kind == MALFORMED for kind, _ in problems):
            continue
        if "image" in raw:
            try:
                images.setdefault(mixture.record(index)["image"], []).append(index)
            except ValueError as err:  # the path leaves its image folder, or is not a string
                add(index, IMAGE_OUTSIDE, str(err))
                continue
        if not problems:
            sound.append(index)
    report.checks["images"] = check_images
    if check_images:
        # threads: PIL releases the GIL while decoding, and file reads wait on I/O, not on Python
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            bar = progress_bar(pool.map(check_image, list(images), chunksize=64), enabled=progress,
                               description="check images", total=len(images))
            for path, (kind, detail) in zip(images, bar):
                if kind:
                    for index in images[path]:
                        add(index, kind, detail)
    report.checks["tokenization"] = label_check is not None
    if label_check is not None:
        for index, kind, detail in label_check(mixture, sound, workers, progress):
            add(index, kind, detail)
    return report
