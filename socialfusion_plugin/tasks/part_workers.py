"""Worker processes for `convert --workers N`, and the rule that they never outlive the conversion.

A ProcessPoolExecutor's workers survive their parent when it is terminated (SIGTERM runs no Python
code, so nothing shuts the pool down) and keep reading the split. Here:
- while a conversion runs in the main thread, SIGTERM (when it still has its default action) unwinds
  the conversion as SystemExit(143), so `finally` blocks run: the temporary output is removed and
- the pool is terminated (not drained) on any error, interrupt or early close, and joined;
- workers ignore SIGINT (Ctrl-C in a terminal reaches the whole process group; the parent alone
  decides) and have SIGTERM's default action back, so terminating them is immediate.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from typing import Any, Callable, Iterator, List, Sequence

SIGTERM_EXIT = 128 + signal.SIGTERM


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) in the main thread for the duration of the block, so cleanup
    runs; a handler the program installed itself is left alone."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def _exit(signum, frame):
        raise SystemExit(SIGTERM_EXIT)

    signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _worker_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def ordered_results(function: Callable[..., List[Any]], settings: Any, parts: Sequence[Any],
                    workers: int) -> Iterator[Any]:
    """The items of function(settings, part) for every part, in part order. At most 2 x workers
    parts are in flight, so memory is bounded by a few parts, not by the split."""
    # fork: workers inherit the registry (tasks registered at run time too) without re-importing
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = multiprocessing.get_context(method).Pool(processes=workers, initializer=_worker_signals)
    finished = False
    try:
        pending = []
        next_part = 0
        while next_part < len(parts) or pending:
            while next_part < len(parts) and len(pending) < 2 * workers:
                pending.append(pool.apply_async(function, (settings, parts[next_part])))
                next_part += 1
            yield from pending.pop(0).get()
        finished = True
    finally:
        if finished:
            pool.close()
        else:  # an error, an interrupt, or the consumer stopped early: stop the workers now
            pool.terminate()
        pool.join()
