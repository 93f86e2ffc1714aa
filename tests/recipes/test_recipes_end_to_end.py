"""The two stages end to end on CPU with the tiny model: stage 1 (recipes/pretrain_connector.sh, the
connector alone on a LLaVA JSON) writes mm_projector.bin + .safetensors; stage 2, the general-data LoRA
recipe, starts its connector from them (PRETRAIN_ADAPTER), trained on the fly from its data recipe through
DeepSpeed ZeRO-2, with group_by_modality_length on an all-image mixture; the output loads with LLaVA's
own loader. Where DeepSpeed cannot run (a CPU-only
machine under LLaVA's own pins: accelerate 0.21 forces NCCL) the same recipe runs with
DEEPSPEED_CONFIG=none, so the recipe is still exercised in that lane; ZeRO-2 runs in the project lane."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_general_recipe_trains_on_cpu_with_the_tiny_model(data_env, tiny_assets, tmp_path):
    import torch
    from safetensors.torch import load_file

    from socialfusion_plugin.host.llava.environment.versions import deepspeed_cpu_blocker
    from socialfusion_plugin.safe_load import read

    stage1, run_dir = tmp_path / "stage1", tmp_path / "run"
    deepspeed = "zero2" if deepspeed_cpu_blocker() is None else "none"
    common = dict(os.environ, PYTHONUNBUFFERED="1", LAUNCHER=f"{sys.executable} -m socialfusion_plugin.train",
                  MODEL_PATH=str(tiny_assets.llm_dir), VISION_TOWER=tiny_assets.vision_tower,
                  DEEPSPEED_CONFIG=deepspeed, BATCH_SIZE="4", TF32="False", DATALOADER_WORKERS="0")
    # stage 1 on the general data of the layout (any LLaVA JSON will do), the connector alone
    result = subprocess.run(["bash", str(REPO / "recipes" / "pretrain_connector.sh"), "--max_steps", "2",
                             "--model_max_length", "512"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=dict(common, OUTPUT_DIR=str(stage1), DATA_PATH=str(data_env / "llava" / "llava_v1_5_mix665k.json"),
                                     IMAGE_FOLDER=str(data_env / "llava")))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "language-model LoRA                     0 trainable" in result.stdout  # the connector alone trains
    projector = read(stage1 / "mm_projector.bin")
    assert sorted(projector) == ["model.mm_projector.0.bias", "model.mm_projector.0.weight",
                                 "model.mm_projector.2.bias", "model.mm_projector.2.weight"]  # LLaVA's layout
    twin = load_file(str(stage1 / "mm_projector.safetensors"))
    assert twin.keys() == projector.keys() and all(torch.equal(twin[k], projector[k]) for k in projector)

    # stage 2 starts from it: with the connector's learning rate at 0, what it saves is stage 1's connector
    env = dict(common, OUTPUT_DIR=str(run_dir), PRETRAIN_ADAPTER=str(stage1), SAVE_STEPS="2", LORA_R="8",
               LORA_ALPHA="16", LR="1e-2", PROJECTOR_LR="0")
    result = subprocess.run(["bash", str(REPO / "recipes" / "train_socialfusion_lora_general.sh"),
                             "--max_steps", "2", "--model_max_length", "512"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "data recipe " + str(REPO / "data_recipes" / "social5_general.yaml") in output
    for name in ("gesture", "relation", "gaze", "gaze_video", "emotion", "general"):
        assert f"  {name:<20} " in output, name
    assert "every sample is image; grouping by length only" in output  # stock LLaVA's modality split is skipped
    assert "'loss':" in output
    for folder in (run_dir, run_dir / "checkpoint-2"):
        for name in ("adapter_model.safetensors", "non_lora_trainables.bin", "config.json"):
            assert (folder / name).is_file(), folder / name

    # under LoRA the keys carry peft's prefix (base_model.model.model.mm_projector.0.weight)
    saved = {key.split("mm_projector.")[1]: value
             for key, value in load_file(str(run_dir / "non_lora_trainables.safetensors")).items()}
    assert sorted(saved) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    for key, value in projector.items():  # bf16 under DeepSpeed: stage 1's values in the saved dtype
        name = key.split("mm_projector.")[1]
        assert torch.equal(saved[name], value.to(saved[name].dtype)), key

    from socialfusion_plugin.host.llava.loading.checkpoints import load_checkpoint

    loaded = load_checkpoint(run_dir, str(tiny_assets.llm_dir))
    assert loaded.kind == "lora" and loaded.model.get_model().mm_projector is not None
