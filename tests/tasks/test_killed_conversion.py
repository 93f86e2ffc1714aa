"""`convert --workers 2` killed with SIGKILL (no `finally`, no exit hook runs): no worker is left 5 s
later, and the next run into the same --out removes the scratch file the killed one left, saying so."""
import os
import signal
import subprocess
import sys
import time

import pytest

from test_convert_output_safety import CLI, _alive, _children, annotation_release, convert_argv, scratch_files


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_conversion_killed_with_sigkill_leaves_no_worker_and_its_scratch_file_goes_next_run(tmp_path):
    root = annotation_release(tmp_path / "hagrid", files=8, per_file=12000)
    out = tmp_path / "out.json"
    log = open(tmp_path / "convert.log", "w")  # a file, not a pipe: a surviving worker would hold a pipe open
    parent = subprocess.Popen(CLI + convert_argv(root, out, "--workers", "2"), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    workers = []
    try:
        deadline = time.time() + 60
        while len(workers) < 2 and time.time() < deadline and parent.poll() is None:
            time.sleep(0.05)
            workers = _children(parent.pid)
        assert len(workers) >= 2, "the conversion finished or failed before its workers started"
        time.sleep(0.5)  # the workers are reading their parts, the parent is writing its scratch file
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=60)
        deadline = time.time() + 5
        while any(_alive(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.1)
        survivors = [pid for pid in workers if _alive(pid)]
        assert survivors == [], f"worker processes {survivors} outlived the conversion killed with SIGKILL"
    finally:
        for pid in workers + [parent.pid]:  # only processes this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    left = scratch_files(tmp_path)
    assert [name.split(".")[2] for name in left] == [str(parent.pid)], left  # out.json.<pid>.<random>.partial
    assert not out.exists()

    small = annotation_release(tmp_path / "small", files=1, per_file=5)  # any run into the same --out cleans up
    rerun = subprocess.run(CLI + convert_argv(small, out, "--workers", "1"), capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert (f"note: removed {tmp_path / left[0]}, the temporary file of an earlier run into {out} that was killed "
            f"before it finished (process {parent.pid})") in rerun.stderr
    assert scratch_files(tmp_path) == [] and out.exists()
