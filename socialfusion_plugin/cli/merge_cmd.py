"""`socialfusion merge --model-path LORA_RUN --model-base BASE_LLM --out MERGED`."""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge", help="merge a LoRA run into a full checkpoint that LLaVA loads without --model-base"
    )
    parser.add_argument("--model-path", required=True, type=Path, help="LoRA output (or checkpoint-N) folder")
    parser.add_argument("--model-base", required=True, help="the base language model the run started from")
    parser.add_argument("--out", required=True, type=Path, help="folder for the merged checkpoint")
    parser.add_argument("--device", default="cpu", help="device used while merging (cpu, cuda)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..host.checkpoints import merge_lora

    out = merge_lora(args.model_path, args.model_base, args.out, device=args.device)
    print(f"merged {args.model_path} + {args.model_base} -> {out}")
    print("load it with LLaVA's load_pretrained_model(path, None, name) or `socialfusion eval --model-path` "
          f"{out} (no --model-base)")
    return 0
