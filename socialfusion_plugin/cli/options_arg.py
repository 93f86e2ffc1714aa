"""Parsing of repeated `--option key=value` and `--flag TASK=PATH` flags shared by the commands."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from .main import CommandError


def parse_key_values(pairs: Optional[List[str]], flag: str = "--option") -> Dict[str, str]:
    values: Dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"{flag} expects key=value, got {pair!r}")
        values[key.strip()] = value.strip()
    return values


def parse_task_paths(values: Optional[List[str]], flag: str, allow_repeat: bool = False) -> Dict[str, Path]:
    """{task: path} from repeated `FLAG TASK=PATH`; a task given twice is an error unless
    `allow_repeat` (then the last one wins)."""
    out: Dict[str, Path] = {}
    for value in values or []:
        task, sep, path = value.partition("=")
        if not sep or not task or not path:
            raise CommandError(f"{flag} expects TASK=PATH, got {value!r}")
        if task in out and not allow_repeat:
            raise CommandError(f"{flag} given twice for task {task}")
        out[task] = Path(path)
    return out
