"""`socialfusion demo`: the pipeline end to end on generated data (CPU, no downloads)."""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="run the whole pipeline on generated data (CPU, no downloads)")
    parser.add_argument("--workdir", type=Path, default=Path("socialfusion-demo"), help="where everything is written")
    parser.add_argument("--steps", type=int, default=40, help="training steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--deepspeed", default="zero2", help="shipped DeepSpeed config (zero2, zero3, zero3_offload) or 'none'"
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..demo.pipeline import DemoConfig, run_demo

    config = DemoConfig(
        workdir=args.workdir,
        steps=args.steps,
        seed=args.seed,
        deepspeed=None if args.deepspeed == "none" else args.deepspeed,
    )
    run_demo(config)
    return 0
