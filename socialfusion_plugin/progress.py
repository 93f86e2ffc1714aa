"""The one progress-bar style of the package: tqdm on stderr (stdout stays clean for JSON and
summaries), updated at most twice a second (cheap on million-record loops), silent when turned
off or when stderr is not a terminal."""
from __future__ import annotations

import sys
from typing import Iterable, Optional


def progress_bar(iterable: Optional[Iterable] = None, *, enabled: bool = True, description: str = "",
                 total: Optional[int] = None, unit: str = " items"):
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=description, unit=unit, mininterval=0.5, file=sys.stderr,
                disable=None if enabled else True)
