# Sourced by the training recipes: what both stages pass to LLaVA's train() the same way. The recipe
# sets its own settings and flags first, then calls `launch_training RECIPE_FLAGS... -- EXTRA_FLAGS...`:
# the launcher (deepspeed, one or many nodes, unless LAUNCHER is set), the DeepSpeed config, the schedule
# and logging flags shared by both stages, the run folder and the user's extra flags last (LLaVA's
# parser keeps the last value of a flag given twice). DRY_RUN=1 prints the command instead.
# Needs: REPO_ROOT NUM_GPUS HOSTFILE MASTER_PORT DEEPSPEED_CONFIG TF32 EPOCHS BATCH_SIZE GRAD_ACCUM
#        MODEL_MAX_LENGTH GRADIENT_CHECKPOINTING DATALOADER_WORKERS SAVE_STEPS REPORT_TO OUTPUT_DIR

launch_training() {
    local recipe_flags=()
    while [[ $# -gt 0 && "$1" != "--" ]]; do recipe_flags+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift  # the "--"

    if [[ -z "${LAUNCHER:-}" ]]; then
        LAUNCHER="deepspeed --num_gpus $NUM_GPUS${HOSTFILE:+ --hostfile $HOSTFILE} --master_port $MASTER_PORT"
        LAUNCHER="$LAUNCHER --module socialfusion_plugin.train"
    fi
    local deepspeed_args=()
    case "$DEEPSPEED_CONFIG" in
        none) ;;
        zero2|zero3|zero3_offload) deepspeed_args=(--deepspeed "$REPO_ROOT/recipes/deepspeed/$DEEPSPEED_CONFIG.json") ;;
        *) deepspeed_args=(--deepspeed "$DEEPSPEED_CONFIG") ;;
    esac

    # shellcheck disable=SC2206  # LAUNCHER is a command line: split it into words on purpose
    local command=($LAUNCHER
        "${recipe_flags[@]}"
        --bf16 True --tf32 "$TF32"
        --num_train_epochs "$EPOCHS" --per_device_train_batch_size "$BATCH_SIZE" --gradient_accumulation_steps "$GRAD_ACCUM"
        --weight_decay 0. --warmup_ratio 0.03 --lr_scheduler_type cosine
        --model_max_length "$MODEL_MAX_LENGTH" --gradient_checkpointing "$GRADIENT_CHECKPOINTING"
        --lazy_preprocess True --dataloader_num_workers "$DATALOADER_WORKERS"
        --evaluation_strategy no --save_strategy steps --save_steps "$SAVE_STEPS" --save_total_limit 1
        --logging_steps 1 --report_to "$REPORT_TO"
        --output_dir "$OUTPUT_DIR"
        "${deepspeed_args[@]}"
        "$@")

    if [[ "${DRY_RUN:-0}" == "1" ]]; then
        printf '%q ' "${command[@]}"
        echo
        exit 0
    fi
    exec "${command[@]}"
}
