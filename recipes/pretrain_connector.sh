#!/usr/bin/env bash
# Stage 1: pretrain the connector alone (frozen language model, frozen open_clip tower), as LLaVA-1.5's
# scripts/v1_5/pretrain.sh does. Its mm_projector.bin (and mm_projector.safetensors, the same tensors in a
# file that holds no code) is what the LoRA recipes take as PRETRAIN_ADAPTER.
#
# Usage:  bash recipes/pretrain_connector.sh [extra LLaVA train arguments...]
# Every setting comes from the environment (defaults in brackets); nothing points at a cluster path.
#   MODEL_PATH       base LLM folder (the same as stage 2)          [models/vicuna-7b-v1.5]
#   VISION_TOWER     frozen tower, open_clip:<ARCH>@<WEIGHTS>       [open_clip:ViT-L-14-336@openai]
#   CONNECTOR        --mm_projector_type (the same as stage 2)      [mlp2x_gelu]
#   SOCIALFUSION_DATA  data root                                    [data]
#   DATA_PATH        any LLaVA JSON (one image + caption/answer per record) [$SOCIALFUSION_DATA/llava/LLaVA-Pretrain/blip_laion_cc_sbu_558k.json]
#   IMAGE_FOLDER     its images                                     [$SOCIALFUSION_DATA/llava/LLaVA-Pretrain/images]
#   VERSION          conversation template; plain = image then caption, as LLaVA's stage 1 [plain]
#   IMAGE_ASPECT_RATIO  square (LLaVA's stage 1: resize + center crop) | pad [square]
#   OUTPUT_DIR       run folder; must not hold a finished mm_projector.bin already [runs/connector-pretrain]
#   NUM_GPUS / HOSTFILE / MASTER_PORT / DEEPSPEED_CONFIG / LAUNCHER / DRY_RUN=1: as in train_socialfusion_lora.sh
#   BATCH_SIZE       per-device batch size                          [32]
#   GRAD_ACCUM       gradient accumulation steps                    [1]
#   EPOCHS                                                          [1]
#   LR               connector learning rate                        [1e-3]
#   MODEL_MAX_LENGTH                                                [2048]
#   TF32 / GRADIENT_CHECKPOINTING / DATALOADER_WORKERS / REPORT_TO  [True / True / 4 / none]
#   SAVE_STEPS       LLaVA saves only the connector in stage-1 checkpoints, so they cannot be resumed [24000]
#
# Defaults are LLaVA-1.5's stage-1 values: global batch 256 on 8 GPUs (32 x 8), lr 1e-3, no weight decay,
# warmup 0.03, cosine, 1 epoch, --version plain, bf16, select layer -2, --tune_mm_mlp_adapter True (only the
# connector trains; no LoRA). On 558K samples that is 2,180 steps.
# The tower must be the one stage 2 uses: the connector learns that tower's features at that select layer.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL_PATH="${MODEL_PATH:-models/vicuna-7b-v1.5}"
VISION_TOWER="${VISION_TOWER:-open_clip:ViT-L-14-336@openai}"
CONNECTOR="${CONNECTOR:-mlp2x_gelu}"
export SOCIALFUSION_DATA="${SOCIALFUSION_DATA:-data}"
DATA_PATH="${DATA_PATH:-$SOCIALFUSION_DATA/llava/LLaVA-Pretrain/blip_laion_cc_sbu_558k.json}"
IMAGE_FOLDER="${IMAGE_FOLDER:-$SOCIALFUSION_DATA/llava/LLaVA-Pretrain/images}"
VERSION="${VERSION:-plain}"
IMAGE_ASPECT_RATIO="${IMAGE_ASPECT_RATIO:-square}"
OUTPUT_DIR="${OUTPUT_DIR:-runs/connector-pretrain}"
NUM_GPUS="${NUM_GPUS:-8}"
HOSTFILE="${HOSTFILE:-}"
MASTER_PORT="${MASTER_PORT:-29500}"
DEEPSPEED_CONFIG="${DEEPSPEED_CONFIG:-zero2}"
BATCH_SIZE="${BATCH_SIZE:-32}"
GRAD_ACCUM="${GRAD_ACCUM:-1}"
EPOCHS="${EPOCHS:-1}"
LR="${LR:-1e-3}"
MODEL_MAX_LENGTH="${MODEL_MAX_LENGTH:-2048}"
TF32="${TF32:-True}"
GRADIENT_CHECKPOINTING="${GRADIENT_CHECKPOINTING:-True}"
DATALOADER_WORKERS="${DATALOADER_WORKERS:-4}"
SAVE_STEPS="${SAVE_STEPS:-24000}"
REPORT_TO="${REPORT_TO:-none}"

# LLaVA writes mm_projector.bin over an existing one without asking: a finished stage 1 is kept
if [[ -e "$OUTPUT_DIR/mm_projector.bin" ]]; then
    echo "$0: $OUTPUT_DIR/mm_projector.bin exists (a finished stage 1); set OUTPUT_DIR to another folder," \
         "or move that one away to train it again" >&2
    exit 2
fi

source "$REPO_ROOT/recipes/lib/launch.sh"
launch_training \
    --model_name_or_path "$MODEL_PATH" --version "$VERSION" \
    --data_path "$DATA_PATH" --image_folder "$IMAGE_FOLDER" \
    --vision_tower "$VISION_TOWER" --mm_vision_select_layer -2 \
    --mm_projector_type "$CONNECTOR" --tune_mm_mlp_adapter True \
    --mm_use_im_start_end False --mm_use_im_patch_token False \
    --image_aspect_ratio "$IMAGE_ASPECT_RATIO" \
    --learning_rate "$LR" \
    -- "$@"
