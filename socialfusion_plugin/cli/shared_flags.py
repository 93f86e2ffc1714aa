"""Flags that several commands take with one meaning, declared here once."""
from __future__ import annotations


def add_no_progress(parser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (for log files)")
