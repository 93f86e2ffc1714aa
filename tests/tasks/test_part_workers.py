"""The part workers behind `convert --workers N`: results in part order, a worker's error raised in
the parent, a dead worker an error rather than a wait, and no worker left after an early stop."""
import os
import time

import pytest

from socialfusion_plugin.tasks.part_workers import WorkerFailed, ordered_results


def _slow_then_fast(settings, part):
    time.sleep(0.2 if part % 3 == 0 else 0.0)  # later parts finish first
    return [f"{settings}-{part}-{i}" for i in range(3)]


def _fails_on_three(settings, part):
    if part == 3:
        raise ValueError(f"part {part} is malformed")
    return [part]


def _dies_on_two(settings, part):
    if part == 2:
        os._exit(9)
    return [part]


def _large(settings, part):
    return ["x" * 100] * 100_000  # ~10 MB: larger than a pipe holds, so a worker is mid-send when stopped


def test_items_come_back_in_part_order_whatever_finishes_first():
    items = list(ordered_results(_slow_then_fast, "s", list(range(7)), workers=3))
    assert items == [f"s-{part}-{i}" for part in range(7) for i in range(3)]


def test_more_workers_than_parts():
    assert list(ordered_results(_slow_then_fast, "s", [1], workers=4)) == ["s-1-0", "s-1-1", "s-1-2"]


def test_a_workers_exception_is_raised_in_the_parent():
    with pytest.raises(ValueError, match="part 3 is malformed"):
        list(ordered_results(_fails_on_three, None, list(range(6)), workers=2))


def test_a_worker_that_dies_is_an_error_naming_its_part():
    started = time.time()
    with pytest.raises(WorkerFailed, match=r"part 2 \(2\) died \(exit code 9\)"):
        list(ordered_results(_dies_on_two, None, list(range(5)), workers=2))
    assert time.time() - started < 30


def _live_children():
    psutil = pytest.importorskip("psutil")
    return [c for c in psutil.Process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE]


def test_stopping_early_while_workers_are_mid_send_ends_them_promptly():
    before = {c.pid for c in _live_children()}
    results = ordered_results(_large, None, list(range(8)), workers=2)
    next(results)
    time.sleep(0.3)  # the other worker is blocked sending its part's result
    started = time.time()
    results.close()
    assert time.time() - started < 10
    assert [c.pid for c in _live_children() if c.pid not in before] == []
