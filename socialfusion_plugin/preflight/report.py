"""The pre-flight report: every problem found before a model is loaded, one line each
(`--data_path /data/social.json: file not found`).

All checks of a command run and the report is raised once at the end, so one run shows every
broken path instead of the first one.
"""
from __future__ import annotations

from typing import Iterable, List, Optional
from socialfusion_plugin.errors import UserInputError


class PreflightError(UserInputError):
    """Paths or weight files a command needs are missing; the message lists every one (the CLI
    prints it as one error, without a traceback)."""

    def __init__(self, lines: List[str]):
        self.lines = list(lines)
        listed = "".join(f"\n  {line}" for line in self.lines)
        super().__init__(self.lines[0] if len(self.lines) == 1 else
                         f"{len(self.lines)} problems found before loading any model:{listed}")


def flag_with_value(flag: str, value) -> str:
    """`--data_path /a.json`, `--train gesture=/a.json`; the flag alone (`--train gesture`) without a value."""
    if value in (None, ""):
        return flag[:-1] if flag.endswith("=") else flag
    return f"{flag}{'' if flag.endswith('=') else ' '}{value}"


class PreflightReport:
    """Collects problem lines (a line reported twice, e.g. one base model of several checkpoints,
    is kept once)."""

    def __init__(self):
        self.lines: List[str] = []

    def add(self, flag: str, value, message: Optional[str]) -> bool:
        """Add `flag value: message` and return True; a None or empty message (a check that found
        nothing) is no problem: False."""
        if message:
            self.add_line(f"{flag_with_value(flag, value)}: {message}")
        return bool(message)

    def add_each(self, flag: str, value, messages: Iterable[Optional[str]]) -> None:
        for message in messages:
            self.add(flag, value, message)

    def add_line(self, line: str) -> None:
        """A line already worded (e.g. an argument error in the launcher's own words)."""
        if line not in self.lines:
            self.lines.append(line)

    def raise_if_any(self) -> None:
        if self.lines:
            raise PreflightError(self.lines)
