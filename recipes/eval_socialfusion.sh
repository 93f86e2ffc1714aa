#!/usr/bin/env bash
# Evaluate one SocialFusion checkpoint on the five social tasks, then score and report.
#
# Usage:  bash recipes/eval_socialfusion.sh
# Every setting comes from the environment (defaults in brackets); nothing points at a cluster path.
#   MODEL_PATH      checkpoint: LoRA run, merged/full checkpoint              [runs/socialfusion-lora]
#   MODEL_BASE      base LLM of a LoRA checkpoint; empty for merged/full        [models/vicuna-7b-v1.5]
#   RUN_DIR         run folder receiving eval/ (predictions, metrics, report)   [$MODEL_PATH]
#   DATA_DIR        converted test splits: $DATA_DIR/<task>_test.json          [data/converted]
#   ROOT_<TASK>     dataset root (convert --root) of each task, e.g. ROOT_GESTURE [data/<task>]
#                   (ROOT_GESTURE, ROOT_RELATION, ROOT_GAZE, ROOT_GAZE_VIDEO, ROOT_EMOTION)
#   TASKS           tasks to evaluate                   [gesture relation gaze gaze_video emotion]
#   RANK_TASKS      tasks evaluated with --mode rank (others: generate) [gesture relation gaze_video emotion]
#   RELATION_GRANULARITY  fine | coarse (must match the conversion)       [fine]
#   BATCH_SIZE      samples per forward pass                              [16]
#   MAX_NEW_TOKENS  generation length                                     [32]
#   CONV_MODE       LLaVA conversation template used in training          [v1]
#   DEVICE          cpu | cuda | cuda:N                                   [cuda]
#   DTYPE           float16 | bfloat16 | float32                          [bfloat16]
#   GENERAL_DATA    held-out general instruction JSON for the forgetting check; empty = skip []
#   GENERAL_IMAGES  image folder of GENERAL_DATA                          [data/general_images]
#   BASE_FOR_LOSS   base model of the forgetting check (LLaVA or plain LM) [$MODEL_BASE]
#   LIMIT           evaluate only the first N records of each task (smoke runs); empty = all []
#   OVERWRITE=1     discard predictions already in $RUN_DIR/eval made with other settings or another
#                   checkpoint (without it, such a rerun is refused and names what differs)  [0]
#   SOCIALFUSION    the command to run                                    [socialfusion]
#   DRY_RUN=1       print the commands instead of running them
set -euo pipefail

MODEL_PATH=${MODEL_PATH:-runs/socialfusion-lora}
MODEL_BASE=${MODEL_BASE-models/vicuna-7b-v1.5}
RUN_DIR=${RUN_DIR:-$MODEL_PATH}
DATA_DIR=${DATA_DIR:-data/converted}
TASKS=${TASKS:-gesture relation gaze gaze_video emotion}
RANK_TASKS=${RANK_TASKS:-gesture relation gaze_video emotion}
RELATION_GRANULARITY=${RELATION_GRANULARITY:-fine}
BATCH_SIZE=${BATCH_SIZE:-16}
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-32}
CONV_MODE=${CONV_MODE:-v1}
DEVICE=${DEVICE:-cuda}
DTYPE=${DTYPE:-bfloat16}
GENERAL_DATA=${GENERAL_DATA:-}
GENERAL_IMAGES=${GENERAL_IMAGES:-data/general_images}
BASE_FOR_LOSS=${BASE_FOR_LOSS:-$MODEL_BASE}
LIMIT=${LIMIT:-}
SOCIALFUSION=${SOCIALFUSION:-socialfusion}
read -r -a sf <<< "$SOCIALFUSION"  # may be a command with arguments, e.g. "python -m socialfusion_plugin.cli.main"

run() {
  if [ "${DRY_RUN:-0}" = "1" ]; then printf '%q ' "$@"; echo; else "$@"; fi
}

model_args=(--model-path "$MODEL_PATH")
if [ -n "$MODEL_BASE" ]; then model_args+=(--model-base "$MODEL_BASE"); fi
common=(--batch-size "$BATCH_SIZE" --max-new-tokens "$MAX_NEW_TOKENS" --conv-mode "$CONV_MODE" --device "$DEVICE" --dtype "$DTYPE")
if [ -n "$LIMIT" ]; then common+=(--limit "$LIMIT"); fi
if [ "${OVERWRITE:-0}" = "1" ]; then common+=(--overwrite); fi

for task in $TASKS; do
  upper=$(echo "$task" | tr '[:lower:]' '[:upper:]')
  root_var="ROOT_${upper}"
  root=${!root_var:-data/$task}
  mode=generate
  for ranked in $RANK_TASKS; do if [ "$ranked" = "$task" ]; then mode=rank; fi; done
  extra=()
  if [ "$task" = relation ]; then extra+=(--option "granularity=$RELATION_GRANULARITY"); fi
  run "${sf[@]}" eval "${model_args[@]}" --task "$task" --mode "$mode" \
    --data "$DATA_DIR/${task}_test.json" --image-folder "$root" \
    --out "$RUN_DIR/eval/$task.preds.jsonl" "${common[@]}" ${extra[@]+"${extra[@]}"}
done

if [ -n "$GENERAL_DATA" ]; then
  loss_common=(--data "$GENERAL_DATA" --image-folder "$GENERAL_IMAGES" --mode loss --batch-size "$BATCH_SIZE"
               --conv-mode "$CONV_MODE" --device "$DEVICE" --dtype "$DTYPE")
  if ! grep -q mm_vision_tower "$BASE_FOR_LOSS/config.json" 2>/dev/null; then
    loss_common+=(--text-only)  # a plain language model reads no images: compare both on text-only samples
  fi
  run "${sf[@]}" eval "${model_args[@]}" "${loss_common[@]}" --out "$RUN_DIR/eval/general.loss.json"
  run "${sf[@]}" eval --model-path "$BASE_FOR_LOSS" "${loss_common[@]}" --out "$RUN_DIR/eval/general.base.loss.json"
fi

run "${sf[@]}" report "$RUN_DIR"
