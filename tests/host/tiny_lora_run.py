"""Launcher arguments for a tiny LoRA run (the conftest's tiny Llama and CLIP tower) on a folder of
LLaVA records with its images/ beside it; each test adds its own schedule and flags."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


def tiny_lora_args(tiny_assets, data: Path, output_dir: Path, schedule: Sequence[str], save_steps: int = 2,
                   extra: Sequence[str] = ()) -> list:
    """schedule: e.g. ("--max_steps", "4") or ("--num_train_epochs", "2", "--seed", "3")."""
    return [
        "--model_name_or_path", str(tiny_assets.llm_dir), "--version", "v1",
        "--data_path", str(data), "--image_folder", str(Path(data).parent / "images"),
        "--vision_tower", tiny_assets.vision_tower, "--mm_projector_type", "mlp2x_gelu",
        "--mm_vision_select_layer", "-2", "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False",
        "--lora_enable", "True", "--lora_r", "8", "--lora_alpha", "16", "--learning_rate", "1e-2",
        *schedule, "--per_device_train_batch_size", "4",
        "--save_strategy", "steps", "--save_steps", str(save_steps), "--logging_steps", "1",
        "--model_max_length", "256", "--dataloader_num_workers", "0", "--report_to", "none",
        "--output_dir", str(output_dir), *extra,
    ]
