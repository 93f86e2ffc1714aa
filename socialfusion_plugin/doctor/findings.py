"""One result line of the doctor, and how a list of them becomes an exit status."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

OK, INFO, WARNING, PROBLEM = "ok", "info", "warning", "problem"
# fixed-width tags so the lines of a report align
TAGS = {OK: "[ok]     ", INFO: "[info]   ", WARNING: "[warning]", PROBLEM: "[PROBLEM]"}


@dataclass(frozen=True)
class Finding:
    check: str  # what was checked, e.g. "version torch", "import llava", "accelerator"
    level: str  # a key of TAGS; PROBLEM = training or evaluation would not run
    message: str  # one line; for warnings and problems it says what to do

    def line(self) -> str:
        return f"{TAGS[self.level]} {self.check}: {self.message}"


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any finding would stop training or evaluation, else 0 (warnings allowed)."""
    return 1 if any(finding.level == PROBLEM for finding in findings) else 0
