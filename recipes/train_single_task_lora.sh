#!/usr/bin/env bash
# Single-task LoRA training: the baseline of the transfer table (each task alone vs all five jointly).
# Same model, connector, LoRA and schedule as the joint recipe, so the only difference is the data.
#
# Usage:  bash recipes/train_single_task_lora.sh TASK [extra LLaVA train arguments...]
#   TASK: a task with a data recipe data_recipes/single_$TASK.yaml (`socialfusion tasks --names` lists the tasks)
# Same environment variables as recipes/train_socialfusion_lora.sh (documented there), with these defaults:
#   DATA_RECIPE   [data_recipes/single_$TASK.yaml]
#   OUTPUT_DIR    [runs/single-$TASK-lora]
#   PRETRAIN_ADAPTER  required, as there: stage 1's mm_projector.bin (recipes/pretrain_connector.sh), LLaVA-1.5's
#                 released projector where the tower matches, or "none" (connector starts untrained)
#                 Use the joint run's PRETRAIN_ADAPTER, so the transfer table compares runs that start alike.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# the tasks this script can train: those with a single-task data recipe
KNOWN="$(cd "$REPO_ROOT/data_recipes" && for f in single_*.yaml; do f="${f#single_}"; printf '%s ' "${f%.yaml}"; done)"
if [[ $# -lt 1 ]]; then
    echo "usage: $0 TASK [extra LLaVA train arguments...]  (TASK: ${KNOWN% })" >&2
    exit 2
fi
TASK="$1"
shift
RECIPE="$REPO_ROOT/data_recipes/single_$TASK.yaml"
if [[ -z "${DATA_RECIPE:-}" && ! -f "$RECIPE" ]]; then
    echo "$0: no data recipe for task '$TASK' ($RECIPE); tasks: ${KNOWN% }" >&2
    exit 2
fi
export DATA_RECIPE="${DATA_RECIPE:-$RECIPE}"
export OUTPUT_DIR="${OUTPUT_DIR:-runs/single-$TASK-lora}"
exec bash "$REPO_ROOT/recipes/train_socialfusion_lora.sh" "$@"
