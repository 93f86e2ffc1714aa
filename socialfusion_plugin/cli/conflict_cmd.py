"""`socialfusion conflict --model-path CKPT [CKPT ...] --tasks T1 T2 ... --batches K --out DIR`."""
from __future__ import annotations

from ..analysis.conflict.run import ConflictConfig
from .flags import add_dataclass_arguments, add_shared_flag, add_task_path_flags, flag_values, parse_task_paths


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "conflict", help="gradient conflict between tasks on connector + LoRA (a diagnostic, not a training mode)",
        description="Per-task gradients of the loss on the trainable parameters (connector + LoRA), averaged over K "
        "seeded batches per task, compared by cosine similarity overall and per parameter group. No optimizer step "
        "is taken; runs on one device without DeepSpeed. Several --model-path values (e.g. checkpoint-N folders of "
        "one run) also give a trend plot.",
    )
    add_dataclass_arguments(parser, ConflictConfig)
    add_shared_flag(parser, "--data-root", "each task's train file and image folder (without it, --data names "
                    "each task's file)")
    add_task_path_flags(parser, "--data", "--image-folder")
    add_shared_flag(parser, "--version")
    add_shared_flag(parser, "--no-progress")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..analysis.conflict.run import run_conflict, write_conflict_report
    from ..host_interface import active_host
    from ..preflight import check_conflict_arguments

    data = parse_task_paths(args.data, "--data", allow_repeat=True)
    image_folders = parse_task_paths(args.image_folder, "--image-folder", allow_repeat=True)
    config = ConflictConfig(**flag_values(ConflictConfig, args), data_root=args.data_root, version=args.version,
                            data=data, image_folders=image_folders, progress=not args.no_progress)
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
