"""The one progress style of the package, on stderr (stdout stays clean for JSON and summaries).

On a terminal: a tqdm bar, updated at most twice a second (cheap on million-record loops).
Off a terminal (SLURM and nohup logs, pipes): a bar's carriage returns make an unreadable log and
silence makes a stuck job look like a running one, so a long step prints one plain line every
`$SOCIALFUSION_PROGRESS_INTERVAL` seconds (default 30; 0 turns the lines off) with counts, rate
and ETA, e.g. `convert gesture/train: 12000/50000 records (24%), 410/s, ETA 1m33s`, and a closing
line once it has printed any. Steps shorter than the interval print nothing.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Callable, Iterable, Iterator, Optional, TextIO

from .errors import UserInputError

INTERVAL_ENV = "SOCIALFUSION_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 30.0


def progress_bar(iterable: Optional[Iterable] = None, *, enabled: bool = True, description: str = "",
                 total: Optional[int] = None, unit: str = " items"):
    """A tqdm-like object (iterate it, or `update(n)` and `close()`; also a context manager)."""
    from tqdm import tqdm

    stream = sys.stderr
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if enabled and not is_terminal(stream):
        interval = line_interval()
        if interval > 0:
            return ProgressLines(iterable, description=description, total=total, unit=unit, stream=stream,
                                 interval=interval)
        enabled = False
    return tqdm(iterable, total=total, desc=description, unit=unit, mininterval=0.5, file=stream,
                disable=None if enabled else True)


def line_interval() -> float:
    """Seconds between progress lines off a terminal, from $SOCIALFUSION_PROGRESS_INTERVAL."""
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise UserInputError(f"${INTERVAL_ENV}={raw!r}: expected seconds between progress lines (a number >= 0)")
    return value


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed stream
        return False


def format_duration(seconds: float) -> str:
    """45s, 1m33s, 2h05m: short enough for a log line, exact enough for an ETA."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_rate(per_second: float) -> str:
    if per_second >= 100:
        return f"{per_second:.0f}/s"
    if per_second >= 1:
        return f"{per_second:.1f}/s"
    if per_second > 0:
        return f"{1 / per_second:.1f}s each"
    return "0/s"


def progress_line(description: str, count: int, total: Optional[int], unit: str, elapsed: float) -> str:
    """`<description>: 12000/50000 records (24%), 410/s, ETA 1m33s` (no total: no share, no ETA)."""
    unit = unit.strip()
    rate = count / elapsed if elapsed > 0 else 0.0
    counts = f"{count}/{total} {unit}".rstrip() if total else f"{count} {unit}".rstrip()
    parts = [counts + (f" ({100 * count / total:.0f}%)" if total else ""), format_rate(rate)]
    if total and rate > 0:
        parts.append(f"ETA {format_duration(max(0, total - count) / rate)}")
    return f"{description}: " + ", ".join(parts) if description else ", ".join(parts)


class _LogLines:
    """Whole lines to a log stream, flushed at once and counted."""

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
        self.lines_written += 1


class ProgressLines(_LogLines):
    """Periodic progress lines for logs, with the part of tqdm's interface the package uses."""

    def __init__(self, iterable: Optional[Iterable] = None, *, description: str = "", total: Optional[int] = None,
                 unit: str = " items", stream: Optional[TextIO] = None, interval: float = DEFAULT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.iterable, self.desc, self.total, self.unit = iterable, description, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval, self.clock = interval, clock
        self.n, self.lines_written, self.closed = 0, 0, False
        self.started = clock()
        self._last_line = self.started

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self._last_line >= self.interval:
            self._write(progress_line(self.desc, self.n, self.total, self.unit, now - self.started))
            self._last_line = now

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.lines_written:  # a step too short for a progress line stays silent at the end too
            elapsed = self.clock() - self.started
            rate = format_rate(self.n / elapsed) if elapsed > 0 else "-"
            self._write(f"{self.desc}: done, {self.n} {self.unit.strip()} in {format_duration(elapsed)} ({rate})")


class still_running(_LogLines):
    """For a step with nothing to count (loading and merging a model): off a terminal, one line per
    interval saying it is still running and for how long, then how long it took; silent on a
    terminal, with `enabled=False`, and when it ends within one interval."""

    def __init__(self, description: str, enabled: bool = True, stream: Optional[TextIO] = None,
                 interval: Optional[float] = None, clock: Callable[[], float] = time.monotonic):
        self.description, self.clock = description, clock
        self.stream = stream if stream is not None else sys.stderr
        self.interval = (line_interval() if interval is None else interval) if enabled else 0.0
        self.lines_written = 0
        self._thread = None

    def __enter__(self):
        import threading

        self.started = self.clock()
        if self.interval > 0 and not is_terminal(self.stream):
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._beat, name=f"still running: {self.description}", daemon=True)
            self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self._write(f"{self.description}: running, {format_duration(self.clock() - self.started)} so far")

    def __exit__(self, kind, error, trace) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        if self.lines_written and kind is None:
            self._write(f"{self.description}: done in {format_duration(self.clock() - self.started)}")
