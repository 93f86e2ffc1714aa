"""`socialfusion probe` end to end on the synthetic releases of all five tasks (converted with
`convert`), in the documented --data-root layout: files, tables, charts, cache reuse, errors."""
import json
import re

import pytest

from socialfusion_plugin import registry
from socialfusion_plugin.cli.main import main
from socialfusion_plugin.data_layout import DataLayout
from socialfusion_plugin.demo.releases import write_all_releases
from socialfusion_plugin.tasks.conversion import convert

TASKS = ["gesture", "relation", "gaze", "gaze_video", "emotion"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    base = tmp_path_factory.mktemp("probe-data")
    root = base / "data"
    roots = write_all_releases(root)  # the data layout: <root>/<task>/ and <root>/converted/<task>_<split>.json
    layout = DataLayout(root)
    for task, dataset_root in roots.items():
        for split in ("train", "test"):
            convert(registry.TASKS.get(task), root=dataset_root, split=split, out=layout.converted(task, split),
                    progress=False)
    return root


def _assert_png(path):
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_probe_cli_all_tasks_writes_tables_and_charts_and_reuses_cache(tiny_assets, data_root, tmp_path, capsys):
    argv = ["probe", "--encoders", tiny_assets.vision_tower, "--tasks", *TASKS, "--data-root", str(data_root),
            "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--layers", "-1", "-2",
            "--pooling", "mean", "cls", "--region", "full", "region", "--no-progress"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    result = json.loads((tmp_path / "out" / "probe_results.json").read_text())
    assert len(result["results"]) == 5 * 2 * 2 * 2
    rows = {(r["task"], r["layer"], r["pooling"], r["region"]): r for r in result["results"]}
    gaze_video = rows[("gaze_video", -2, "mean", "full")]
    assert gaze_video["skipped"]["test"].get("no probe target", 0) >= 1  # out-of-frame frames, counted
    assert gaze_video["n_test"] == gaze_video["score"]["n"]
    for row in result["results"]:
        assert row["primary_metric"] == registry.TASKS.get(row["task"]).primary_metric
        assert row["score"]["unparsed"] == 0 and row["score"]["missing"] == 0
        assert row["value"] is None or 0.0 <= row["value"] <= 1.0
    table = (tmp_path / "out" / "probe_results.md").read_text()
    assert table.startswith("| encoder | layer | pooling | region | gesture (f1_micro) |") and table.count("\n") == 2 + 8
    _assert_png(tmp_path / "out" / "probe_chart.png")
    _assert_png(tmp_path / "out" / "probe_layers.png")
    assert re.search(r"feature cache: \d+ hit\(s\), [1-9]\d* extracted", first)

    assert main(argv[:-1] + ["--no-progress"]) == 0  # same inputs: everything from the cache
    second = capsys.readouterr().out
    assert ", 0 extracted, 0 image(s) encoded" in second
    again = json.loads((tmp_path / "out" / "probe_results.json").read_text())
    assert [r["value"] for r in again["results"]] == [r["value"] for r in result["results"]]


def test_probe_cli_errors_name_the_problem(tiny_assets, data_root, tmp_path, capsys):
    base = ["probe", "--encoders", tiny_assets.vision_tower, "--out", str(tmp_path / "o"),
            "--cache-dir", str(tmp_path / "c"), "--no-progress"]
    assert main(base + ["--tasks", "gesture", "--data-root", str(tmp_path)]) == 2
    assert "gesture_train.json not found" in capsys.readouterr().err
    assert main(base + ["--tasks", "nope", "--data-root", str(data_root)]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err
    assert main(base + ["--tasks", "gesture", "--data-root", str(data_root), "--train", "relation=x.json"]) == 2
    assert "not in --tasks" in capsys.readouterr().err
    records = json.loads(DataLayout(data_root).converted("gesture", "test").read_text())
    records[0]["image"] = "../../outside.jpg"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(records))
    assert main(base + ["--tasks", "gesture", "--data-root", str(data_root), "--test", f"gesture={bad}"]) == 2
    err = capsys.readouterr().err
    assert "bad.json: record" in err and "escapes the dataset root" in err


def test_probe_without_cache_dir_checks_and_uses_the_cache_root(tiny_assets, tmp_path, capsys, monkeypatch):
    """No --cache-dir: the feature cache is $SOCIALFUSION_CACHE/probe-features, checked like a given one."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache root should be")
    monkeypatch.setenv("SOCIALFUSION_CACHE", str(blocked))
    argv = ["probe", "--encoders", tiny_assets.vision_tower, "--out", str(tmp_path / "o"), "--tasks", "gesture",
            "--data-root", str(tmp_path / "no-data"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--cache-dir" in err and "probe-features" in err
