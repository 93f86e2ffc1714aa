"""Training through the launcher (plain, ZeRO-2 under the deepspeed launcher, ZeRO-3), then loading
the outputs with LLaVA's own loader, generating, and merging."""
import json
import os
import subprocess
import sys

import pytest
import torch
from PIL import Image

from socialfusion_plugin.resources import deepspeed_config

from tiny_lora_run import tiny_lora_args

pytestmark = pytest.mark.slow
QUESTION = "What color is the square in the picture? Answer with one word."


def train_args(tiny_assets, color_data, output_dir, steps=4, extra=()):
    return tiny_lora_args(tiny_assets, color_data, output_dir,
                          ("--mm_projector_lr", "1e-3", "--bf16", "True", "--max_steps", str(steps)), extra=extra)


def run(command, cwd):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def assert_lora_run_outputs(run_dir):
    for folder in (run_dir, run_dir / "checkpoint-2"):
        for name in ("adapter_model.safetensors", "adapter_config.json", "non_lora_trainables.bin", "config.json"):
            assert (folder / name).is_file(), f"{folder / name} missing"


def generate(model_path, model_base, color_data):
    from socialfusion_plugin.host.llava.loading.checkpoints import load_checkpoint
    from socialfusion_plugin.host.llava.inference.batch_generation import answer_question

    loaded = load_checkpoint(model_path, model_base)
    image = Image.open(color_data.parent / "images" / "square_000.png").convert("RGB")
    return loaded, answer_question(loaded, image, QUESTION, max_new_tokens=4)


def test_plain_run_prints_report_and_checkpoints_load(tiny_assets, color_data, tmp_path):
    run_dir = tmp_path / "plain-lora"
    output = run([sys.executable, "-m", "socialfusion_plugin.train", *train_args(tiny_assets, color_data, run_dir)],
                 tmp_path)
    assert "vision tower                            0 trainable" in output
    assert "connector" in output and "language-model LoRA" in output
    assert_lora_run_outputs(run_dir)
    # the connector LLaVA's loader puts into the model is the one training saved, at every checkpoint
    for folder in (run_dir / "checkpoint-2", run_dir):
        loaded, answer = generate(folder, str(tiny_assets.llm_dir), color_data)
        saved = torch.load(folder / "non_lora_trainables.bin", weights_only=True)
        projector = loaded.model.get_model().mm_projector.state_dict()
        for key, value in saved.items():
            short = key.split("mm_projector.")[1]
            assert torch.allclose(projector[short].float(), value.float(), atol=1e-3), key
        assert isinstance(answer, str)
    # the forgetting check on the LoRA run: its tokenizer comes from the base model, which has no pad
    # token, and LLaVA's preprocessing pads text-only samples
    from socialfusion_plugin.cli.main import main
    from socialfusion_plugin.demo.synthetic_data import write_arithmetic_dataset

    sums = write_arithmetic_dataset(tmp_path / "sums.json", count=3)
    out = run_dir / "eval" / "general.loss.json"
    assert main(["eval", "--model-path", str(run_dir), "--model-base", str(tiny_assets.llm_dir), "--mode", "loss",
                 "--data", str(sums), "--text-only", "--out", str(out), "--no-progress"]) == 0
    loss = json.loads(out.read_text())
    assert loss["samples"] == 3 and loss["mean_loss"] > 0


def test_zero2_under_the_deepspeed_launcher_with_projector_lr(deepspeed_runs_here, tiny_assets, color_data, tmp_path):
    run_dir = tmp_path / "zero2-lora"
    from socialfusion_plugin.host.llava.training.launcher import free_port

    # a free port, not a fixed one: another run of the suite on this machine must not meet this one
    command = [sys.executable, "-m", "deepspeed.launcher.runner", "--num_gpus", "1", "--master_port", str(free_port()),
               "--module", "socialfusion_plugin.train",
               *train_args(tiny_assets, color_data, run_dir, extra=("--deepspeed", str(deepspeed_config("zero2"))))]
    output = run(command, tmp_path)
    assert "zip() argument 2 is longer" not in output
    assert_lora_run_outputs(run_dir)
    _, answer = generate(run_dir / "checkpoint-2", str(tiny_assets.llm_dir), color_data)
    assert isinstance(answer, str)


def test_zero3_run_then_merge_loads_without_base(deepspeed_runs_here, tiny_assets, color_data, tmp_path):
    from socialfusion_plugin.cli.main import main

    run_dir = tmp_path / "zero3-lora"
    output = run([sys.executable, "-m", "socialfusion_plugin.train",
                  *train_args(tiny_assets, color_data, run_dir, extra=("--deepspeed", str(deepspeed_config("zero3"))))],
                 tmp_path)
    assert "running DeepSpeed as one process" in output
    assert_lora_run_outputs(run_dir)
    _, lora_answer = generate(run_dir, str(tiny_assets.llm_dir), color_data)
    merged_dir = tmp_path / "merged"
    assert main(["merge", "--model-path", str(run_dir), "--model-base", str(tiny_assets.llm_dir),
                 "--out", str(merged_dir)]) == 0
    merged, merged_answer = generate(merged_dir, None, color_data)
    assert merged.kind == "full"
    assert merged_answer == lora_answer
    from safetensors import safe_open

    with safe_open(str(merged_dir / "model.safetensors"), "pt") as handle:
        keys = list(handle.keys())
    assert any("mm_projector" in key for key in keys)
    assert not any("vision_tower" in key for key in keys)  # rebuilt from mm_vision_tower, not copied


def test_same_seed_gives_identical_trained_weights(tiny_assets, color_data, tmp_path):
    # LLaVA creates LoRA and the connector before the Trainer seeds anything; the launcher seeds first
    from safetensors.torch import load_file

    outputs = []
    for name in ("a", "b"):
        run_dir = tmp_path / name
        run([sys.executable, "-m", "socialfusion_plugin.train",
             *train_args(tiny_assets, color_data, run_dir, steps=2, extra=("--seed", "7"))], tmp_path)
        outputs.append((load_file(run_dir / "adapter_model.safetensors"),
                        torch.load(run_dir / "non_lora_trainables.bin", weights_only=True)))
    (adapter_a, connector_a), (adapter_b, connector_b) = outputs
    assert adapter_a.keys() == adapter_b.keys() and connector_a.keys() == connector_b.keys()
    assert all(torch.equal(adapter_a[k], adapter_b[k]) for k in adapter_a)
    assert all(torch.equal(connector_a[k], connector_b[k]) for k in connector_a)
