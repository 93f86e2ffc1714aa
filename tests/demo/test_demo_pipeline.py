"""`socialfusion demo`: the whole pipeline on generated data, every stage's outputs checked."""
import json

import pytest
import torch

from socialfusion_plugin.demo.cue_releases import CueReleaseSizes
from socialfusion_plugin.cli.main import main
from socialfusion_plugin.demo.pipeline import DemoConfig, run_demo

pytestmark = pytest.mark.slow
TASKS = ["emotion", "gaze", "gaze_video", "gesture", "relation"]
# Every stage runs; small releases keep the test short (what is asserted does not depend on size).
SMALL = CueReleaseSizes(gesture_train_per_class=4, gesture_test_per_class=3, relation_train_per_class=4,
                        relation_test_per_class=3, emotion_train=12, emotion_test=8, gaze_train=8, gaze_test=6,
                        gaze_video_train=10, gaze_video_test=8)


def test_demo_runs_every_stage_and_writes_its_outputs(tmp_path):
    lines = []
    workdir = tmp_path / "demo"
    result = run_demo(DemoConfig(workdir=workdir, steps=6, single_task_steps=2, pretrain_steps=3, deepspeed=None,
                                 sizes=SMALL), run_command=main, echo=lines.append)
    text = "\n".join(lines)
    # data: every task's splits converted with counted skips; the shipped recipe mixed and validated
    for task in TASKS:
        report = json.loads((workdir / "data" / "converted" / f"{task}_train.report.json").read_text())
        assert report["converted"] + report["skipped"] == report["read"] and report["converted"] > 0
    merged = json.loads((workdir / "mixed" / "social5_general.json").read_text())
    assert {r["meta"]["task"] for r in merged if "meta" in r} == set(TASKS)
    # stage 1: the connector alone, in LLaVA's layout, and every stage-2 run starts from it
    from safetensors.torch import load_file

    stage1 = workdir / "runs" / "llava-tiny-connector-pretrain"
    assert (stage1 / "mm_projector.bin").is_file() and "stage 1: the connector alone, 3 steps" in text
    projector = load_file(str(stage1 / "mm_projector.safetensors"))
    assert sorted(projector) == ["model.mm_projector.0.bias", "model.mm_projector.0.weight",
                                 "model.mm_projector.2.bias", "model.mm_projector.2.weight"]
    commands = [line for line in (workdir / "demo.log").read_text().splitlines()
                if line.startswith("$ ") and "--data_recipe" in line]
    assert len(commands) == 7  # joint, untrained, five single-task runs
    assert all(f"--pretrain_mm_mlp_adapter {stage1 / 'mm_projector.safetensors'}" in line for line in commands)
    # the untrained model (one step at learning rate 0) holds stage 1's connector exactly
    untrained = load_file(str(workdir / "runs" / "llava-tiny-untrained-lora" / "non_lora_trainables.safetensors"))
    assert {k.split("mm_projector.")[1] for k in untrained} == {k.split("mm_projector.")[1] for k in projector}
    for key, value in untrained.items():
        assert torch.equal(value, projector["model.mm_projector." + key.split("mm_projector.")[1]]), key
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
    # results: every task's primary metric for the four columns, each comparison with its interval
    results = json.loads((workdir / "results.json").read_text())
    assert [row["task"] for row in results["tasks"]] == [r.task for r in result.results] and len(results["tasks"]) == 5
    for row in results["tasks"]:
        assert set(row["values"]) == {"untrained", "joint", "single", "chance"} and row["values"]["chance"] is not None
        assert set(row["comparisons"]) == {"joint-untrained", "joint-chance", "joint-single"}
    assert "joint vs chance" in text and (workdir / "results.md").is_file()
    # training progress reached the console: a bounded number of lines per run, the last at the last step
    assert "step    6/6  loss" in text and "gesture    step    2/2  loss" in text


def test_demo_config_checks_itself(tmp_path):
    with pytest.raises(ValueError, match="at least 2 training steps"):
        DemoConfig(workdir=tmp_path, steps=1)
    with pytest.raises(ValueError, match="stage-1 steps must be 0 .no stage 1. or more, got -1"):
        DemoConfig(workdir=tmp_path, pretrain_steps=-1)
