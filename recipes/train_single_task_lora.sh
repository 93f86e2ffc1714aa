#!/usr/bin/env bash
# Single-task LoRA training: the baseline of the transfer table (each task alone vs all five jointly).
# Same model, connector, LoRA and schedule as the joint recipe, so the only difference is the data.
#
# Usage:  bash recipes/train_single_task_lora.sh TASK [extra LLaVA train arguments...]
#   TASK: gesture | relation | gaze | gaze_video | emotion   (data_recipes/single_$TASK.yaml)
# Same environment variables as recipes/train_socialfusion_lora.sh (documented there), with these defaults:
#   DATA_RECIPE   [data_recipes/single_$TASK.yaml]
#   OUTPUT_DIR    [runs/single-$TASK-lora]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 1 ]]; then
    echo "usage: $0 TASK [extra LLaVA train arguments...]  (TASK: gesture relation gaze gaze_video emotion)" >&2
    exit 2
fi
TASK="$1"
shift
RECIPE="$REPO_ROOT/data_recipes/single_$TASK.yaml"
if [[ -z "${DATA_RECIPE:-}" && ! -f "$RECIPE" ]]; then
    echo "$0: no data recipe for task '$TASK' ($RECIPE); tasks: gesture relation gaze gaze_video emotion" >&2
    exit 2
fi
export DATA_RECIPE="${DATA_RECIPE:-$RECIPE}"
export OUTPUT_DIR="${OUTPUT_DIR:-runs/single-$TASK-lora}"
exec bash "$REPO_ROOT/recipes/train_socialfusion_lora.sh" "$@"
