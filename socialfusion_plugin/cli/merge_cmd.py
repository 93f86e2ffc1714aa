"""`socialfusion merge --model-path LORA_RUN --model-base BASE_LLM --out MERGED`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..run_settings import RunSettings
from .flags import add_dataclass_arguments


@dataclass(frozen=True, kw_only=True)
class MergePlacement(RunSettings):
    device: Optional[str] = "cpu"  # merging needs no GPU; the weights are written in --dtype


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge", help="merge a LoRA run into a full checkpoint that LLaVA loads without --model-base")
    parser.add_argument("--model-path", required=True, type=Path, help="LoRA output (or checkpoint-N) folder")
    parser.add_argument("--model-base", required=True, help="the base language model the run started from")
    parser.add_argument("--out", required=True, type=Path, help="folder for the merged checkpoint")
    add_dataclass_arguments(parser, MergePlacement, only=("device", "dtype"))
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..host_interface import active_host
    from ..preflight import check_merge_arguments
    from ..progress import still_running

    host = active_host()
    check_merge_arguments(args, host)  # adapters, connector, base model, tower and --out, before the base model loads
    with still_running("merge"):  # loading, merging and saving a 7B model takes minutes
        out = host.merge_lora(args.model_path, args.model_base, args.out, device=args.device, dtype=args.dtype)
    print(f"merged {args.model_path} + {args.model_base} -> {out}")
    print(f"load it without --model-base: `socialfusion eval --model-path {out}`, or LLaVA's load_pretrained_model "
          "(any folder name once patches/llava-1.2.2-model-hooks.patch is applied; without it the name must "
          "contain 'llava')")
    return 0
