#!/usr/bin/env bash
# Evaluate one SocialFusion checkpoint on the social tasks into one results table (socialfusion eval-suite),
# plus the forgetting check on general instruction data when GENERAL_DATA is set.
#
# Usage:  bash recipes/eval_socialfusion.sh
# Every setting comes from the environment (defaults in brackets); nothing points at a cluster path.
#   MODEL_PATH      checkpoint: LoRA run, merged/full checkpoint              [runs/socialfusion-lora]
#   MODEL_BASE      base LLM of a LoRA checkpoint; empty for merged/full        [models/vicuna-7b-v1.5]
#   RUN_DIR         run folder receiving eval/ (predictions, metrics, results table)  [$MODEL_PATH]
#   SOCIALFUSION_DATA  data layout root: converted/<task>_test.json, releases in <task>/   [data]
#   TASKS           tasks to evaluate; "all" = every registered task (`socialfusion tasks --names`)  [all]
#   SUITE           a suite YAML (splits, modes, options and files per task); replaces TASKS []
#                   Without SUITE, tasks with answer options to rank are ranked
#                   (`socialfusion tasks --names --ranked`), the others generate.
#   RELATION_GRANULARITY  fine | coarse (must match the conversion; with TASKS)  [fine]
#   NUM_GPUS        processes, one GPU each; > 1 starts them with torchrun        [1]
#   BATCH_SIZE      samples per forward pass                              [16]
#   MAX_NEW_TOKENS  generation length                                     [32]
#   CONV_MODE       LLaVA conversation template used in training          [v1]
#   DEVICE          cpu | cuda | cuda:N; empty = cuda when available (each process its own GPU)  []
#   DTYPE           float16 | bfloat16 | float32                          [bfloat16]
#   GENERAL_DATA    held-out general instruction JSON for the forgetting check; empty = skip []
#   GENERAL_IMAGES  image folder of GENERAL_DATA                          [$SOCIALFUSION_DATA/llava]
#   BASE_FOR_LOSS   base model of the forgetting check (LLaVA or plain LM) [$MODEL_BASE]
#   OVERWRITE=1     discard predictions already in $RUN_DIR/eval made with other settings or another
#                   checkpoint (without it, such a rerun is refused and names what differs)  [0]
#   SOCIALFUSION    the command to run                                    [socialfusion]
#   DRY_RUN=1       print the commands instead of running them
set -euo pipefail

MODEL_PATH=${MODEL_PATH:-runs/socialfusion-lora}
MODEL_BASE=${MODEL_BASE-models/vicuna-7b-v1.5}
RUN_DIR=${RUN_DIR:-$MODEL_PATH}
SOCIALFUSION_DATA=${SOCIALFUSION_DATA:-data}
TASKS=${TASKS:-all}
SUITE=${SUITE:-}
RELATION_GRANULARITY=${RELATION_GRANULARITY:-fine}
NUM_GPUS=${NUM_GPUS:-1}
BATCH_SIZE=${BATCH_SIZE:-16}
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-32}
CONV_MODE=${CONV_MODE:-v1}
DEVICE=${DEVICE:-}
DTYPE=${DTYPE:-bfloat16}
GENERAL_DATA=${GENERAL_DATA:-}
GENERAL_IMAGES=${GENERAL_IMAGES:-$SOCIALFUSION_DATA/llava}
BASE_FOR_LOSS=${BASE_FOR_LOSS:-$MODEL_BASE}
SOCIALFUSION=${SOCIALFUSION:-socialfusion}
read -r -a sf <<< "$SOCIALFUSION"  # may be a command with arguments, e.g. "python -m socialfusion_plugin.cli.main"

run() {
  if [ "${DRY_RUN:-0}" = "1" ]; then printf '%q ' "$@"; echo; else "$@"; fi
}

model_args=(--model-path "$MODEL_PATH")
if [ -n "$MODEL_BASE" ]; then model_args+=(--model-base "$MODEL_BASE"); fi
common=(--batch-size "$BATCH_SIZE" --conv-mode "$CONV_MODE" --dtype "$DTYPE")
if [ -n "$DEVICE" ]; then common+=(--device "$DEVICE"); fi
overwrite=()
if [ "${OVERWRITE:-0}" = "1" ]; then overwrite+=(--overwrite); fi

if [ -n "$SUITE" ]; then
  which=(--suite "$SUITE")
else
  read -r -a task_list <<< "$TASKS"
  which=(--tasks "${task_list[@]}")
  if [ "$TASKS" = all ] || [[ " $TASKS " == *" relation "* ]]; then
    which+=(--option "relation.granularity=$RELATION_GRANULARITY")
  fi
fi

launch=("${sf[@]}")
if [ "$NUM_GPUS" -gt 1 ]; then
  # every process predicts its share of each task; the first merges and writes the table
  launch=(torchrun --standalone --nproc_per_node "$NUM_GPUS" -m socialfusion_plugin.cli.main)
fi
run "${launch[@]}" eval-suite "${model_args[@]}" "${which[@]}" --data-root "$SOCIALFUSION_DATA" --out "$RUN_DIR" \
  --max-new-tokens "$MAX_NEW_TOKENS" "${common[@]}" ${overwrite[@]+"${overwrite[@]}"}

if [ -n "$GENERAL_DATA" ]; then
  loss_common=(--data "$GENERAL_DATA" --image-folder "$GENERAL_IMAGES" --mode loss "${common[@]}")
  if ! grep -q mm_vision_tower "$BASE_FOR_LOSS/config.json" 2>/dev/null; then
    loss_common+=(--text-only)  # a plain language model reads no images: compare both on text-only samples
  fi
  run "${sf[@]}" eval "${model_args[@]}" "${loss_common[@]}" --out "$RUN_DIR/eval/general.loss.json"
  run "${sf[@]}" eval --model-path "$BASE_FOR_LOSS" "${loss_common[@]}" --out "$RUN_DIR/eval/general.base.loss.json"
  run "${sf[@]}" report "$RUN_DIR"  # adds the forgetting check to the report
fi
