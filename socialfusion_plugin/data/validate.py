"""Validation of a dataset before a job is launched: every problem LLaVA would hit mid-run (or,
worse, train through silently) found up front, with examples and a full report.

Input is a Mixture (a recipe, or one LLaVA JSON + image folder as a one-source mixture in file
order). Structure checks run on every record; images are decoded in a thread pool with a progress
bar; the tokenization checks (labels fully masked, too long) need the host and are passed in as
`label_check` (host/llava/training/label_check.py), so this module stays LLaVA-free.
"""
from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..progress import progress_bar
from .mixture import Mixture
from .record_checks import FINDING_KINDS, IMAGE_OUTSIDE, MALFORMED, check_image, structure_findings

EXAMPLES_PER_KIND = 3
# (mixture, indices of structurally sound records, workers, progress) -> [(index, kind, detail)]
LabelCheck = Callable[[Mixture, List[int], int, bool], List[Tuple[int, str, str]]]


@dataclass
class ValidationReport:
    input: str
    records: int = 0
    findings: List[Dict[str, Any]] = field(default_factory=list)
    checks: Dict[str, Any] = field(default_factory=dict)

    def add(self, index: int, record_id: Any, source: str, kind: str, detail: str) -> None:
        self.findings.append({"index": index, "id": record_id, "source": source, "kind": kind, "detail": detail})

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
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def validate_mixture(mixture: Mixture, input_name: str, label_check: Optional[LabelCheck] = None,
                     check_images: bool = True, workers: int = 8, progress: bool = True) -> ValidationReport:
    report = ValidationReport(input=input_name, records=len(mixture))
    sound: List[int] = []
    images: Dict[str, List[int]] = {}
    ids: Dict[int, Any] = {}

    def add(index: int, kind: str, detail: str) -> None:
        source = "" if len(mixture.plans) == 1 else mixture.source_name(index)
        report.add(index, ids[index], source, kind, detail)

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
        for path, (kind, detail) in _check_images(list(images), workers, progress):
            for index in images[path]:
                add(index, kind, detail)
    report.checks["tokenization"] = label_check is not None
    if label_check is not None:
        for index, kind, detail in label_check(mixture, sound, workers, progress):
            add(index, kind, detail)
    return report


def _check_images(paths: List[str], workers: int, progress: bool) -> Iterable[Tuple[str, Tuple[str, str]]]:
    # threads: PIL releases the GIL while decoding, and file reads wait on I/O, not on Python
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(check_image, paths, chunksize=64)
        bar = progress_bar(results, enabled=progress, description="check images", total=len(paths))
        for path, result in zip(paths, bar):
            if result[0]:
                yield path, result
