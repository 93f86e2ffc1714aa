"""`socialfusion conflict --model-path CKPT [CKPT ...] --tasks T1 T2 ... --batches K --out DIR`."""
from __future__ import annotations

from pathlib import Path

from .options_arg import parse_task_paths


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "conflict", help="gradient conflict between tasks on connector + LoRA (a diagnostic, not a training mode)",
        description="Per-task gradients of the loss on the trainable parameters (connector + LoRA), averaged over K "
        "seeded batches per task, compared by cosine similarity overall and per parameter group. No optimizer step "
        "is taken; runs on one device without DeepSpeed. Several --model-path values (e.g. checkpoint-N folders of "
        "one run) also give a trend plot.",
    )
    parser.add_argument("--model-path", nargs="+", required=True, type=Path, metavar="PATH",
                        help="LoRA checkpoint(s) (adapter + non_lora_trainables.bin), a merged LLaVA checkpoint, or a "
                        "plain language model (then --vision-tower; connector and LoRA start fresh)")
    parser.add_argument("--model-base", help="base language model of LoRA checkpoints (default: from adapter_config.json)")
    parser.add_argument("--vision-tower", help="tower for a plain language model, e.g. open_clip:ViT-L-14-336@openai")
    parser.add_argument("--tasks", nargs="+", required=True, metavar="TASK", help="two or more task names")
    parser.add_argument("--data-root", type=Path, help="data layout root ($SOCIALFUSION_DATA): converted/<task>_train.json and the image folder <task>/")
    parser.add_argument("--data", action="append", metavar="TASK=FILE", help="LLaVA records of a task (overrides --data-root)")
    parser.add_argument("--image-folder", action="append", metavar="TASK=DIR", help="image folder of a task")
    parser.add_argument("--batches", type=int, default=4, help="K batches per task (default: 4)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0, help="seed of batch sampling and of fresh initializations")
    parser.add_argument("--version", default="v1", help="LLaVA conversation template used in training (default: v1)")
    parser.add_argument("--lora-r", type=int, default=8, help="rank of a fresh LoRA (plain or merged models)")
    parser.add_argument("--lora-alpha", type=int, default=16, help="alpha of a fresh LoRA")
    parser.add_argument("--projector-type", default="mlp2x_gelu", help="connector of a plain language model")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--out", type=Path, required=True, help="output folder (conflict.json, PNG heatmaps, trend)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..analysis.conflict.report import write_conflict_report
    from ..analysis.conflict.run import ConflictConfig, run_conflict
    from ..host_interface import active_host
    from ..preflight import check_conflict_arguments

    data = parse_task_paths(args.data, "--data", allow_repeat=True)
    image_folders = parse_task_paths(args.image_folder, "--image-folder", allow_repeat=True)
    config = ConflictConfig(
        model_paths=args.model_path, tasks=args.tasks, out_dir=args.out, data_root=args.data_root,
        data=data, image_folders=image_folders,
        batches=args.batches, batch_size=args.batch_size, seed=args.seed, model_base=args.model_base,
        vision_tower=args.vision_tower, version=args.version, lora_r=args.lora_r, lora_alpha=args.lora_alpha,
        projector_type=args.projector_type, device=args.device, dtype=args.dtype, progress=not args.no_progress,
    )
    host = active_host()
    check_conflict_arguments(args, data, image_folders, host)  # every missing path, before the first model is built
    result = run_conflict(config, host)
    written = write_conflict_report(result, args.out)
    for checkpoint in result["checkpoints"]:
        print(f"{checkpoint['model_path']} ({checkpoint['kind']})")
        for group in ("all", "connector", "lora"):
            data = checkpoint["groups"].get(group)
            if data:
                share = "n/a" if data["negative_share"] is None else f"{data['negative_share']:.2f}"
                mean = "n/a" if data["mean_cosine"] is None else f"{data['mean_cosine']:.3f}"
                print(f"  {group:<10} mean cosine {mean}  negative pairs {data['negative_pairs']}/{data['pairs']} ({share})")
    print("wrote " + ", ".join(str(path) for path in written.values()))
    return 0
