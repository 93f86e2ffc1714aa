"""`socialfusion train <LLaVA train arguments>`: the launcher, as a sub-command."""
from __future__ import annotations

from typing import List

HELP = """usage: socialfusion train [--attn_implementation {eager,sdpa,flash_attention_2}] <LLaVA train arguments>

Installs the SocialFusion hooks (frozen open_clip towers, connectors, LoRA on the language model only,
optimizer/checkpoint fixes) and runs LLaVA's own train(). All other arguments are LLaVA's, e.g.
  --model_name_or_path PATH --version v1 --data_path data.json --image_folder DIR
  --vision_tower open_clip:ViT-L-14-336@openai --mm_projector_type mlp2x_gelu
  --mm_vision_select_layer -2 --lora_enable True --lora_r 128 --lora_alpha 256
  --mm_projector_lr 2e-5 --deepspeed recipes/deepspeed/zero2.json --output_dir OUT
  --data_recipe data_recipes/social5.yaml   (instead of --data_path/--image_folder: a mixture built on the fly)
Multi-GPU: deepspeed --num_gpus N --module socialfusion_plugin.train <same arguments>

Before anything is loaded, every path is checked (model, tower weights, data and a sample of its
images, output folder), and whether --deepspeed can run on this machine; all problems are reported
together. A disk that fills up while a checkpoint is saved stops the run with one line naming the
disk and the folder; rerunning the same command resumes from the last complete checkpoint.
"""


def register(subparsers) -> None:
    # Parsed by run_passthrough (LLaVA's parser); registered here so it shows in `socialfusion --help`.
    subparsers.add_parser("train", help="run LLaVA's train() with the SocialFusion hooks", add_help=False)


def run_passthrough(argv: List[str]) -> int:
    if argv in (["-h"], ["--help"]) or not argv:
        print(HELP)
        if not argv:
            return 2
    from ..train import run  # the same checks and one-line errors as `python -m socialfusion_plugin.train`

    return run(argv)
