#!/usr/bin/env bash
# SocialFusion joint LoRA training on the five social tasks (frozen CLIP tower + mlp2x_gelu + LoRA).
#
# Usage:  bash recipes/train_socialfusion_lora.sh [extra LLaVA train arguments...]
# Every setting comes from the environment (defaults in brackets); nothing points at a cluster path.
#   MODEL_PATH       base LLM folder                               [models/vicuna-7b-v1.5]
#   VISION_TOWER     frozen tower, open_clip:<ARCH>@<WEIGHTS>       [open_clip:ViT-L-14-336@openai]
#   SOCIALFUSION_DATA  data root the data recipe's paths start from [data]
#   DATA_RECIPE      data recipe trained on the fly                 [data_recipes/social5.yaml]
#   OUTPUT_DIR       run folder                                     [runs/socialfusion-lora]
#   PRETRAIN_ADAPTER the connector's starting weights (--pretrain_mm_mlp_adapter): stage 1's mm_projector.bin or
#                    .safetensors, or its output folder. REQUIRED: without it the recipe stops before anything
#                    loads. Get one with recipes/pretrain_connector.sh (stage 1), or, for the default tower
#                    and a Vicuna-7B-v1.5 LLM, LLaVA-1.5's released stage-1 projector (same CLIP weights,
#                    same layer -2 features). "none" = start the connector from random weights on purpose []
#   CONNECTOR        --mm_projector_type; the one stage 1 trained    [mlp2x_gelu]
#   NUM_GPUS         GPUs per node                                  [8]
#   HOSTFILE         DeepSpeed hostfile for multi-node runs (lines "host1 slots=8"); empty = this node only []
#   MASTER_PORT      rendezvous port                                [29500]
#   DEEPSPEED_CONFIG ZeRO config; zero2 | zero3 | zero3_offload or a path; "none" = no DeepSpeed [zero2]
#   BATCH_SIZE       per-device batch size                          [16]
#   GRAD_ACCUM       gradient accumulation steps                    [1]
#   EPOCHS           training epochs                                [1]
#   LR / PROJECTOR_LR  LoRA / connector learning rates              [2e-4 / 2e-5]
#   LORA_R / LORA_ALPHA                                             [128 / 256]
#   MODEL_MAX_LENGTH                                                [2048]
#   TF32             --tf32 (needs Ampere or newer; False on CPU)   [True]
#   GRADIENT_CHECKPOINTING                                          [True]
#   DATALOADER_WORKERS                                              [4]
#   SAVE_STEPS       checkpoint every N steps (each loads with LLaVA's loader) [50000]
#   REPORT_TO        wandb | tensorboard | none                     [none]
#   LAUNCHER         command that runs the trainer; default:
#                    deepspeed --num_gpus $NUM_GPUS [--hostfile $HOSTFILE] --master_port $MASTER_PORT --module socialfusion_plugin.train
#                    e.g. LAUNCHER="python -m socialfusion_plugin.train" for one process (CPU tests)
#   DRY_RUN=1        print the command instead of running it
#
# This is stage 2. Defaults follow LLaVA-1.5's LoRA recipe (scripts/v1_5/finetune_lora.sh), which starts the
# connector from stage 1 (--pretrain_mm_mlp_adapter; here PRETRAIN_ADAPTER): global batch 128 on 8 GPUs,
# lr 2e-4, connector lr 2e-5, cosine schedule, warmup 0.03, no weight decay, --version v1, bf16,
# select layer -2, mlp2x_gelu, image_aspect_ratio pad, group_by_modality_length. SocialFusion's change is
# the tower: the ORIGINAL CLIP ViT-L/14-336 (OpenAI weights) through open_clip, frozen, instead of a
# VLM-tuned encoder. No measured reason to differ from these values has been found yet.
# Multi-node: write a hostfile, set HOSTFILE=hostfile, and run this script on the first host (DeepSpeed
# starts the other hosts over passwordless ssh; all hosts need the same paths and environment).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL_PATH="${MODEL_PATH:-models/vicuna-7b-v1.5}"
VISION_TOWER="${VISION_TOWER:-open_clip:ViT-L-14-336@openai}"
export SOCIALFUSION_DATA="${SOCIALFUSION_DATA:-data}"
DATA_RECIPE="${DATA_RECIPE:-$REPO_ROOT/data_recipes/social5.yaml}"
OUTPUT_DIR="${OUTPUT_DIR:-runs/socialfusion-lora}"
PRETRAIN_ADAPTER="${PRETRAIN_ADAPTER:-}"
CONNECTOR="${CONNECTOR:-mlp2x_gelu}"
NUM_GPUS="${NUM_GPUS:-8}"
HOSTFILE="${HOSTFILE:-}"
MASTER_PORT="${MASTER_PORT:-29500}"
DEEPSPEED_CONFIG="${DEEPSPEED_CONFIG:-zero2}"
BATCH_SIZE="${BATCH_SIZE:-16}"
GRAD_ACCUM="${GRAD_ACCUM:-1}"
EPOCHS="${EPOCHS:-1}"
LR="${LR:-2e-4}"
PROJECTOR_LR="${PROJECTOR_LR:-2e-5}"
LORA_R="${LORA_R:-128}"
LORA_ALPHA="${LORA_ALPHA:-256}"
MODEL_MAX_LENGTH="${MODEL_MAX_LENGTH:-2048}"
TF32="${TF32:-True}"
GRADIENT_CHECKPOINTING="${GRADIENT_CHECKPOINTING:-True}"
DATALOADER_WORKERS="${DATALOADER_WORKERS:-4}"
SAVE_STEPS="${SAVE_STEPS:-50000}"
REPORT_TO="${REPORT_TO:-none}"

# The connector's start: LLaVA-1.5 trains it alone first (stage 1, lr 1e-3) and only then with LoRA at
# lr 2e-5. Starting it from random weights at 2e-5 is a different (weaker) recipe, so it is never a default.
STAGE1_DEFAULT="runs/connector-pretrain"
ADAPTER_ARGS=()
if [[ -z "$PRETRAIN_ADAPTER" ]]; then
    {
        echo "$0: PRETRAIN_ADAPTER is not set: the connector has no pretrained (stage-1) weights to start from."
        if [[ -f "$STAGE1_DEFAULT/mm_projector.bin" ]]; then
            echo "  A stage-1 run is here: PRETRAIN_ADAPTER=$STAGE1_DEFAULT/mm_projector.bin"
        fi
        echo "  Train one (stage 1, the connector alone, with the same MODEL_PATH and VISION_TOWER):"
        echo "    bash recipes/pretrain_connector.sh   # writes $STAGE1_DEFAULT/mm_projector.bin"
        echo "  or, with VISION_TOWER=open_clip:ViT-L-14-336@openai, CONNECTOR=mlp2x_gelu and Vicuna-7B-v1.5, use"
        echo "  LLaVA-1.5's released projector (liuhaotian/llava-v1.5-mlp2x-336px-pretrain-vicuna-7b-v1.5, mm_projector.bin;"
        echo "  -vicuna-13b-v1.5 for 13B). Other towers (SigLIP, other open_clip architectures or tags) need stage 1."
        echo "  PRETRAIN_ADAPTER=none starts the connector from random weights on purpose."
    } >&2
    exit 2
elif [[ "$PRETRAIN_ADAPTER" == "none" ]]; then
    echo "$0: PRETRAIN_ADAPTER=none: the connector starts untrained (random weights, lr $PROJECTOR_LR), not from stage 1" >&2
else
    if [[ -d "$PRETRAIN_ADAPTER" ]]; then  # a stage-1 output folder: its projector file
        if [[ -f "$PRETRAIN_ADAPTER/mm_projector.safetensors" ]]; then
            PRETRAIN_ADAPTER="$PRETRAIN_ADAPTER/mm_projector.safetensors"
        else
            PRETRAIN_ADAPTER="$PRETRAIN_ADAPTER/mm_projector.bin"
        fi
    fi
    ADAPTER_ARGS=(--pretrain_mm_mlp_adapter "$PRETRAIN_ADAPTER")
fi

source "$REPO_ROOT/recipes/lib/launch.sh"
launch_training \
    --model_name_or_path "$MODEL_PATH" --version v1 \
    --data_recipe "$DATA_RECIPE" \
    --vision_tower "$VISION_TOWER" --mm_vision_select_layer -2 \
    "${ADAPTER_ARGS[@]}" \
    --mm_projector_type "$CONNECTOR" --mm_use_im_start_end False --mm_use_im_patch_token False \
    --image_aspect_ratio pad --group_by_modality_length True \
    --lora_enable True --lora_r "$LORA_R" --lora_alpha "$LORA_ALPHA" \
    --learning_rate "$LR" --mm_projector_lr "$PROJECTOR_LR" \
    -- "$@"
