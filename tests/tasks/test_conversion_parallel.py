"""`convert --workers N` reads a task's parts in parallel and writes exactly the sequential output."""
import json

import pytest

from socialfusion_plugin.demo.releases.hagrid import standard_release

from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.conversion import convert
from socialfusion_plugin.tasks.paths import PathEscapeError


def test_parallel_output_and_report_equal_sequential(tmp_path):
    root = standard_release(tmp_path / "hagrid")
    task = TASKS.get("gesture")
    outputs, reports = [], []
    for workers in (1, 3):
        out = tmp_path / f"w{workers}.json"
        report = convert(task, root, "train", out, progress=False, workers=workers)
        outputs.append(out.read_bytes())
        reports.append(report.to_json())
    assert outputs[0] == outputs[1]
    assert reports[0] == reports[1]
    assert reports[0]["converted"] > 0 and reports[0]["skipped"] > 0  # the release mixes both
    assert len(json.loads(outputs[0])) == reports[0]["converted"]


def test_tasks_without_parts_fall_back_to_sequential_reading(tmp_path):
    task = TASKS.get("relation")
    assert task.read_parts(tmp_path, "train", task.options()) is None


def test_errors_in_a_worker_reach_the_caller(tmp_path):
    root = standard_release(tmp_path / "hagrid")
    bad = root / "hagrid_annotations" / "train" / "zz_escape.json"
    bad.write_text(json.dumps({"../../../etc/passwd": {"labels": ["like"], "bboxes": [[0.1, 0.1, 0.2, 0.2]]}}))
    with pytest.raises(PathEscapeError):
        convert(TASKS.get("gesture"), root, "train", tmp_path / "out.json", progress=False, workers=2)
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "out.json.partial").exists()
