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


def test_dry_run_evaluates_every_registered_task_with_relative_defaults(tmp_path):
    out = run_recipe({"DRY_RUN": "1", "GENERAL_DATA": "general.json"}, tmp_path)
    lines = out.strip().splitlines()
    suite = [line for line in lines if " eval-suite " in line]
    assert len(suite) == 1
    assert "--tasks all --option relation.granularity=fine --data-root data --out runs/socialfusion-lora" in suite[0]
    assert "--mode " not in suite[0] and "--device" not in suite[0]  # the registry and the machine decide
    assert lines[-1].endswith("report runs/socialfusion-lora")
    assert sum("--mode loss" in line for line in lines) == 2
    assert all("--image-folder data/llava" in line for line in lines if "--mode loss" in line)
    assert not any(token.startswith("/") for line in lines for token in line.split())  # no absolute paths


def test_dry_run_many_gpus_start_processes_with_torchrun(tmp_path):
    out = run_recipe({"DRY_RUN": "1", "NUM_GPUS": "4", "TASKS": "gesture gaze", "SUITE": ""}, tmp_path)
    assert out.startswith("torchrun --standalone --nproc_per_node 4 -m socialfusion_plugin.cli.main eval-suite ")
    assert "--tasks gesture gaze --data-root" in out and "relation.granularity" not in out
    out = run_recipe({"DRY_RUN": "1", "SUITE": "suite.yaml"}, tmp_path)
    assert "--suite suite.yaml --data-root data" in out and "--tasks" not in out


@pytest.mark.slow
def test_recipe_runs_the_suite_on_the_tiny_checkpoint(color_checkpoint, laid_out_data, tmp_path):
    env = {"MODEL_PATH": str(color_checkpoint), "MODEL_BASE": "", "RUN_DIR": str(tmp_path / "run"),
           "SOCIALFUSION_DATA": str(laid_out_data), "TASKS": "relation", "DEVICE": "cpu",
           "DTYPE": "float32", "BATCH_SIZE": "4", "MAX_NEW_TOKENS": "4",
           "SOCIALFUSION": f"{sys.executable} -m socialfusion_plugin.cli.main"}
    out = run_recipe(env, tmp_path)
    assert "relation: mean_ap" in out
    results = json.loads((tmp_path / "run" / "eval" / "results.json").read_text())
    assert [(r["task"], r["mode"]) for r in results["rows"]] == [("relation", "rank")]
    data = laid_out_data / "converted" / "relation_test.json"
    assert results["rows"][0]["n"] == len(json.loads(data.read_text()))
