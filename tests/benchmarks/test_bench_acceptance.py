"""benchmarks/bench_acceptance.py --shape tiny --device cpu: the acceptance command's code, end to
end on the tiny model (the same code a GPU runs at LLaVA-1.5-7B's shape). The figures are not
asserted (timings belong in the benchmark's output); what is: the JSON document printed last has
every key, with values of the right kind, and each part really ran."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_acceptance.py"
QUESTIONS = 16


def last_json_document(stdout: str) -> dict:
    start = stdout.rfind("\n{\n") + 1 if not stdout.startswith("{\n") else 0
    return json.loads(stdout[start:])


@pytest.mark.slow
def test_tiny_cpu_run_prints_the_acceptance_figures(tmp_path):
    from socialfusion_plugin.host.llava.environment.versions import deepspeed_cpu_blocker

    result = subprocess.run([sys.executable, str(SCRIPT), "--shape", "tiny", "--device", "cpu", "--questions",
                             str(QUESTIONS), "--work", str(tmp_path / "work")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    report = last_json_document(result.stdout)
    for key in ("train_step_ratio_vs_stock", "train_step_ratio_packed_vs_stock", "eval_speedup_vs_model_vqa_loader",
                "eval_speedup_predictions_vs_model_vqa_loader"):
        assert isinstance(report[key], float) and math.isfinite(report[key]) and report[key] > 0, (key, report[key])
    assert set(report["peak_memory_mib"]) == {"stock", "plugin", "plugin_packed"}
    assert all(value > 0 for value in report["peak_memory_mib"].values())
    assert all(value > 0 for value in report["step_seconds_median"].values())
    assert report["device"].startswith("cpu") and report["shape"] == "tiny"
    # the packed run printed how its rows attend: per sample on a CPU
    assert report["packed_attention"] and all("per-sample attention" in line for line in report["packed_attention"])
    assert report["eval_questions"] == QUESTIONS and 0 <= report["eval_answers_identical"] <= QUESTIONS
    assert report["eval_answer_agreement"] == round(report["eval_answers_identical"] / QUESTIONS, 4)
    assert set(report["eval_samples_per_s"]) == {"model_vqa_loader", "eval-suite"}
    assert report["eval_speedup_predictions_vs_model_vqa_loader"] > report["eval_speedup_vs_model_vqa_loader"]
    assert report["merged_loads_with_llava"] is True
    blocker = deepspeed_cpu_blocker()
    assert report["deepspeed"] == ("ZeRO-2, one process" if blocker is None else
                                   f"off: DeepSpeed cannot run on this CPU-only machine: {blocker}")
    work = tmp_path / "work"
    assert (work / "llava-merged" / "config.json").is_file()
    # every contender trained the steps it was asked for, and stock LLaVA ran with its own HF CLIP tower
    for name in ("stock", "plugin", "plugin_packed"):
        steps = json.loads(next((work / "train-round-0" / name).glob("*.result.json")).read_text())["step_seconds"]
        assert len(steps) == report["settings"]["train_steps"]
    stock_config = json.loads((work / "train-round-0" / "stock" / "out" / "config.json").read_text())
    assert stock_config["mm_vision_tower"].endswith("tiny-hf-clip")
