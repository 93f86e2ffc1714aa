"""`convert` output safety: a conversion of nothing writes no file; two processes converting into the
same --out each finish with a whole file; terminating or interrupting `convert --workers 2` leaves no
worker process behind and no scratch file."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from socialfusion_plugin.cli.main import main

CLI = [sys.executable, "-m", "socialfusion_plugin.cli.main"]


def annotation_release(root: Path, labels=("like",), files=4, per_file=100) -> Path:
    """A HaGRID release of annotations only (convert with check_images=false)."""
    folder = root / "hagrid_annotations" / "train"
    folder.mkdir(parents=True)
    for index in range(files):
        records = {f"img-{index}-{i}": {"bboxes": [[0.1, 0.1, 0.3, 0.4]], "labels": list(labels), "user_id": "u"}
                   for i in range(per_file)}
        (folder / f"class{index}.json").write_text(json.dumps(records))
    return root


def convert_argv(root, out, *extra):
    return ["convert", "gesture", "--root", str(root), "--split", "train", "--out", str(out),
            "--option", "check_images=false", "--no-progress", *extra]


def scratch_files(folder: Path):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_converting_nothing_writes_no_file_and_the_report_says_why(tmp_path, capsys):
    root = annotation_release(tmp_path / "hagrid", labels=("no_gesture",), files=2, per_file=3)
    out, report = tmp_path / "out.json", tmp_path / "report.json"
    argv = convert_argv(root, out, "--option", "keep_no_gesture=false", "--report", str(report), "--workers", "1")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"no record was converted, so {out} was not written (all 6 records read were skipped" in err
    assert not out.exists() and scratch_files(tmp_path) == []
    written = json.loads(report.read_text())
    assert (written["read"], written["converted"], written["skip_reasons"]) == (6, 0, {"only no_gesture": 6})
    out.write_text("[\"an earlier conversion\"]\n")  # an earlier output is not replaced by an empty one
    assert main(argv) == 1
    assert out.read_text() == "[\"an earlier conversion\"]\n"


def test_two_processes_converting_into_one_output_each_write_a_whole_file(tmp_path):
    root = annotation_release(tmp_path / "hagrid", files=4, per_file=6000)
    out = tmp_path / "out.json"
    processes = [subprocess.Popen(CLI + convert_argv(root, out, "--workers", "1"), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in processes]
    for process, (stdout, stderr) in zip(processes, results):
        assert process.returncode == 0, stderr[-2000:]
        assert f"wrote {out}" in stdout
    assert len(json.loads(out.read_text())) == 24000
    assert scratch_files(tmp_path) == []


def _children(pid):
    """Pids of the live (not zombie) descendants of `pid`."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return [c.pid for c in psutil.Process(pid).children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:
            return []
    if not Path("/proc").is_dir():
        pytest.skip("needs psutil or /proc to list child processes")
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return found


def _alive(pid):
    try:
        import psutil

        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except ImportError:
        stat = Path(f"/proc/{pid}/stat")
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    except Exception:  # psutil.NoSuchProcess between the two calls
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_killing_a_parallel_conversion_leaves_no_worker_behind(tmp_path, signum):
    root = annotation_release(tmp_path / "hagrid", files=8, per_file=12000)
    out = tmp_path / "out.json"
    log = open(tmp_path / "convert.log", "w")  # a file, not a pipe: a surviving worker would hold a pipe open
    # Ctrl-C reaches the conversion even when this suite runs as a background job (`cmd &`), which
    # starts every child with SIGINT ignored
    parent = subprocess.Popen(CLI + convert_argv(root, out, "--workers", "2"), stdout=log, stderr=subprocess.STDOUT,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    log.close()
    workers = []
    try:
        deadline = time.time() + 60
        while len(workers) < 2 and time.time() < deadline and parent.poll() is None:
            time.sleep(0.05)
            workers = _children(parent.pid)
        assert len(workers) >= 2, "the conversion finished or failed before its workers started"
        time.sleep(0.5)  # the workers are reading their parts
        parent.send_signal(signum)
        parent.wait(timeout=60)
        deadline = time.time() + 5
        while any(_alive(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.1)
        survivors = [pid for pid in workers if _alive(pid)]
        assert survivors == [], f"worker processes {survivors} outlived the killed conversion"
        assert not out.exists() and scratch_files(tmp_path) == [], (tmp_path / "convert.log").read_text()[-2000:]
        # SIGTERM unwinds as exit status 143 (cleanup ran); SIGINT as an interrupt
        assert parent.returncode == (128 + signal.SIGTERM if signum == signal.SIGTERM else -signal.SIGINT)
    finally:
        for pid in workers + [parent.pid]:  # only processes this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
