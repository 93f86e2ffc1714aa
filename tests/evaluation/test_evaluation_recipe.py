"""recipes/eval_socialfusion.sh: settings from the environment, and a real run on the tiny checkpoint."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "eval_socialfusion.sh"


def run_recipe(env, cwd):
    result = subprocess.run(["bash", str(RECIPE)], env=dict(os.environ, **env), cwd=cwd, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_dry_run_evaluates_every_task_with_relative_defaults(tmp_path):
    out = run_recipe({"DRY_RUN": "1", "GENERAL_DATA": "general.json"}, tmp_path)
    lines = out.strip().splitlines()
    for task in ("gesture", "relation", "gaze", "gaze_video", "emotion"):
        assert any(f"--task {task} " in line for line in lines), task
    assert any("--task gaze --mode generate" in line for line in lines)
    assert any("--task gesture --mode rank" in line for line in lines)
    assert lines[-1].endswith("report runs/socialfusion-lora")
    assert sum("--mode loss" in line for line in lines) == 2
    assert not any(token.startswith("/") for line in lines for token in line.split())  # no absolute paths


@pytest.mark.slow
def test_recipe_runs_eval_and_report_on_the_tiny_checkpoint(color_checkpoint, social_test_splits, tmp_path):
    data, root = social_test_splits["relation"]
    env = {"MODEL_PATH": str(color_checkpoint), "MODEL_BASE": "", "RUN_DIR": str(tmp_path / "run"),
           "DATA_DIR": str(data.parent), "ROOT_RELATION": str(root), "TASKS": "relation", "DEVICE": "cpu",
           "DTYPE": "float32", "BATCH_SIZE": "4", "MAX_NEW_TOKENS": "4",
           "SOCIALFUSION": f"{sys.executable} -m socialfusion_plugin.cli.main"}
    out = run_recipe(env, tmp_path)
    assert "relation: mean_ap" in out
    report = json.loads((tmp_path / "run" / "eval" / "report.json").read_text())
    assert report["tasks"]["relation"]["mode"] == "rank"
    assert report["tasks"]["relation"]["n"] == len(json.loads(data.read_text()))
