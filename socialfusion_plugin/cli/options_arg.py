"""Parsing of repeated `--option key=value` flags shared by the task commands."""
from __future__ import annotations

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
