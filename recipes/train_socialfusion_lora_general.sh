#!/usr/bin/env bash
# SocialFusion joint LoRA training on the five social tasks + LLaVA-1.5 general instruction data
# (data_recipes/social5_general.yaml: social tasks size-balanced with temperature 2, 20% of mix665k).
#
# Usage:  bash recipes/train_socialfusion_lora_general.sh [extra LLaVA train arguments...]
# Same environment variables as recipes/train_socialfusion_lora.sh (documented there), with these defaults:
#   DATA_RECIPE   [data_recipes/social5_general.yaml]   expects $SOCIALFUSION_DATA/llava/llava_v1_5_mix665k.json
#   OUTPUT_DIR    [runs/socialfusion-lora-general]
#   PRETRAIN_ADAPTER  required, as there: stage 1's mm_projector.bin (recipes/pretrain_connector.sh), LLaVA-1.5's
#                 released projector where the tower matches, or "none" (connector starts untrained)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DATA_RECIPE="${DATA_RECIPE:-$REPO_ROOT/data_recipes/social5_general.yaml}"
export OUTPUT_DIR="${OUTPUT_DIR:-runs/socialfusion-lora-general}"
exec bash "$REPO_ROOT/recipes/train_socialfusion_lora.sh" "$@"
