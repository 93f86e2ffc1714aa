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


def test_workers_die_with_a_parent_killed_by_sigkill(tmp_path):
    """kill -9 runs no `finally` and no exit hook in the parent; the kernel still ends its workers."""
    import signal
    import subprocess
    import sys
    import textwrap

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    psutil = pytest.importorskip("psutil")
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, sys, time
        from socialfusion_plugin.tasks.part_workers import ordered_results

        def slow(settings, part):
            print("worker", os.getpid(), flush=True)
            time.sleep(120)
            return [part]

        list(ordered_results(slow, None, [0, 1], workers=2))
    """)], stdout=subprocess.PIPE, text=True)
    workers = []
    try:
        while len(workers) < 2:
            line = parent.stdout.readline()
            assert line, "the parent ended before both workers started"
            workers.append(int(line.split()[1]))
        assert {c.pid for c in psutil.Process(parent.pid).children()} == set(workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.time() + 5
        alive = workers
        while alive and time.time() < deadline:
            time.sleep(0.1)
            alive = [pid for pid in workers if psutil.pid_exists(pid)
                     and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        assert alive == [], f"workers {alive} outlived their parent (killed with SIGKILL) by 5 s"
    finally:
        for pid in workers + [parent.pid]:  # only processes this test started
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_worker_whose_parent_is_already_gone_exits():
    """The race the kernel request leaves open: the parent dying between the fork and the request.
    (Run in a child process: the request would stay on the test process.)"""
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    from socialfusion_plugin.tasks.part_workers import ORPHAN_EXIT

    code = "import os, sys; from socialfusion_plugin.tasks.part_workers import die_with_parent as d; " \
           "print(d(int(sys.argv[1]) or os.getppid()))"
    alive = subprocess.run([sys.executable, "-c", code, "0"], capture_output=True, text=True, timeout=120)
    assert (alive.returncode, alive.stdout) == (0, "True\n"), alive.stderr
    # told its parent was pid 1 while it is this test: as if the parent had died before the request
    orphan = subprocess.run([sys.executable, "-c", code, "1"], capture_output=True, text=True, timeout=120)
    assert (orphan.returncode, orphan.stdout) == (ORPHAN_EXIT, ""), orphan.stderr
