"""One training recipe end to end on CPU: the general-data recipe with the tiny model, trained on
the fly from its data recipe through DeepSpeed ZeRO-2, with group_by_modality_length on an
all-image mixture; the output loads with LLaVA's own loader. Where DeepSpeed cannot run (a CPU-only
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
    from socialfusion_plugin.host.deepspeed_support import deepspeed_cpu_blocker

    run_dir = tmp_path / "run"
    deepspeed = "zero2" if deepspeed_cpu_blocker() is None else "none"
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               LAUNCHER=f"{sys.executable} -m socialfusion_plugin.train",
               MODEL_PATH=str(tiny_assets.llm_dir), VISION_TOWER=tiny_assets.vision_tower,
               OUTPUT_DIR=str(run_dir), DEEPSPEED_CONFIG=deepspeed, BATCH_SIZE="4", TF32="False",
               DATALOADER_WORKERS="0", SAVE_STEPS="2", LORA_R="8", LORA_ALPHA="16", LR="1e-2", PROJECTOR_LR="1e-3")
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

    from socialfusion_plugin.host.checkpoints import load_checkpoint

    loaded = load_checkpoint(run_dir, str(tiny_assets.llm_dir))
    assert loaded.kind == "lora" and loaded.model.get_model().mm_projector is not None
