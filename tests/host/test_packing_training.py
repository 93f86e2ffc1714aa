"""Training through the launcher with packing ends where the same run without packing ends: the
on-the-fly data recipe (social tasks + general data, samples of different lengths), LoRA, gradient
accumulation and the seeded --group_by_modality_length sampler; fp32, plain SGD and no dropout, so
equal gradients give equal weights. (ZeRO-2/3 and resume with packing: test_resume_training.py.)"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5


def recipe_args(tiny_assets, recipe, output_dir, extra=()):
    return [
        "--model_name_or_path", str(tiny_assets.llm_dir), "--version", "v1", "--data_recipe", str(recipe),
        "--vision_tower", tiny_assets.vision_tower, "--mm_projector_type", "mlp2x_gelu",
        "--mm_vision_select_layer", "-2", "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False",
        "--lora_enable", "True", "--lora_r", "8", "--lora_alpha", "16", "--optim", "sgd",
        "--lora_dropout", "0",  # dropout masks are random per position: another layout draws other ones
        "--mm_projector_lr", "1e-2", "--learning_rate", "1e-1", "--seed", "5", "--bf16", "False",
        "--max_steps", "3", "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "2",
        "--group_by_modality_length", "True", "--save_strategy", "no", "--logging_steps", "1",
        "--model_max_length", "512", "--dataloader_num_workers", "0", "--report_to", "none",
        "--output_dir", str(output_dir), *extra,
    ]


def train(args, cwd):
    result = subprocess.run([sys.executable, "-m", "socialfusion_plugin.train", *args], cwd=cwd,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"), capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def final_weights(run_dir):
    from safetensors.torch import load_file

    losses = [entry["loss"] for entry in json.loads((run_dir / "trainer_state.json").read_text())["log_history"]
              if "loss" in entry]
    return (load_file(run_dir / "adapter_model.safetensors"),
            torch.load(run_dir / "non_lora_trainables.bin", weights_only=True), losses)


def test_a_packed_run_ends_where_the_unpacked_run_ends(data_env, tiny_assets, tmp_path):
    plain_recipe = tmp_path / "mix.yaml"
    text = (REPO / "data_recipes" / "social5_general.yaml").read_text()
    plain_recipe.write_text(text.replace("seed: 0\n", "seed: 0\nmax_samples: 40\n"))
    packed_recipe = tmp_path / "mix-packed.yaml"  # the same mixture, packed by the recipe's option
    packed_recipe.write_text(text.replace("seed: 0\n", "seed: 0\nmax_samples: 40\npack_sequences: true\n"))

    train(recipe_args(tiny_assets, plain_recipe, tmp_path / "plain"), tmp_path)
    output = train(recipe_args(tiny_assets, packed_recipe, tmp_path / "packed"), tmp_path)
    assert "pack_sequences: each batch's samples are packed into rows of up to 512 tokens" in output

    adapter_a, connector_a, losses_a = final_weights(tmp_path / "plain")
    adapter_b, connector_b, losses_b = final_weights(tmp_path / "packed")
    # the trainer logs losses rounded to 4 decimals
    assert len(losses_a) == 3 and losses_b == pytest.approx(losses_a, abs=1.01e-4)
    assert adapter_a.keys() == adapter_b.keys() and connector_a.keys() == connector_b.keys()
    lora = max((adapter_a[k] - adapter_b[k]).abs().max().item() for k in adapter_a)
    connector = max((connector_a[k] - connector_b[k]).abs().max().item() for k in connector_a)
    assert lora <= TOLERANCE and connector <= TOLERANCE, (lora, connector)
    # and training moved them: the comparison is not between two untouched initializations
    assert any(adapter_a[k].abs().max() > 0 for k in adapter_a if "lora_B" in k)
