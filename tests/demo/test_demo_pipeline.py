"""`socialfusion demo`: the whole pipeline on generated data, every stage's outputs checked."""
import json

import pytest

from socialfusion_plugin.demo.pipeline import DemoConfig, run_demo

pytestmark = pytest.mark.slow
TASKS = ["emotion", "gaze", "gaze_video", "gesture", "relation"]


def test_demo_runs_every_stage_and_writes_its_outputs(tmp_path):
    lines = []
    workdir = tmp_path / "demo"
    result = run_demo(DemoConfig(workdir=workdir, steps=6, single_task_steps=2, deepspeed=None), echo=lines.append)
    text = "\n".join(lines)
    # data: every task's splits converted with counted skips; the shipped recipe mixed and validated
    for task in TASKS:
        report = json.loads((workdir / "converted" / f"{task}_train.report.json").read_text())
        assert report["converted"] + report["skipped"] == report["read"] and report["converted"] > 0
    merged = json.loads((workdir / "mixed" / "social5_general.json").read_text())
    assert {r["meta"]["task"] for r in merged if "meta" in r} == set(TASKS)
    # training on the recipe on the fly: losses, checkpoints with the connector
    assert len(result.losses) == 6
    assert (result.run_dir / "checkpoint-3" / "non_lora_trainables.bin").is_file()
    assert "vision tower                            0 trainable" in text
    # evaluation: every task scored, forgetting check on both models, charts
    assert sorted(result.report["tasks"]) == TASKS
    assert result.report["forgetting"]["same_samples"] is True
    assert (result.run_dir / "eval" / "gesture.confusion.png").stat().st_size > 1000
    assert len(result.answers) == 4 and all(isinstance(a["answer"], str) for a in result.answers)
    # transfer table from five single-task runs
    assert sorted(row["task"] for row in result.transfer["rows"]) == TASKS
    # diagnostics
    probe = json.loads((workdir / "diagnose" / "probe" / "probe_results.json").read_text())
    assert {row["task"] for row in probe["results"]} == set(TASKS)
    conflict = json.loads((workdir / "diagnose" / "conflict" / "conflict.json").read_text())
    assert [c["step"] for c in conflict["checkpoints"]] == [3, 6]
    assert (workdir / "demo.log").stat().st_size > 0


def test_demo_config_checks_itself(tmp_path):
    with pytest.raises(ValueError, match="at least 2 training steps"):
        DemoConfig(workdir=tmp_path, steps=1)
