"""`socialfusion demo`: the whole pipeline end to end on generated data (CPU, no downloads)."""
from __future__ import annotations

from pathlib import Path

from ..demo.defaults import SINGLE_TASK_STEPS as DEFAULT_SINGLE_TASK_STEPS, STEPS as DEFAULT_STEPS


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="run the whole pipeline on generated data (CPU, no downloads)")
    parser.add_argument("--workdir", type=Path, default=Path("socialfusion-demo"),
                        help="where everything is written: a new or empty folder, or one an earlier demo created (it "
                        "holds a .socialfusion-demo file); any other non-empty folder is refused, untouched")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"steps of the joint training (default {DEFAULT_STEPS})")
    parser.add_argument("--single-task-steps", type=int, default=DEFAULT_SINGLE_TASK_STEPS,
                        help=f"steps of each single-task baseline (default {DEFAULT_SINGLE_TASK_STEPS})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deepspeed", default="zero2",
                        help="shipped DeepSpeed config (zero2, zero3, zero3_offload) or 'none'")
    parser.add_argument("--no-transfer", action="store_true", help="skip the single-task runs and transfer table")
    parser.add_argument("--no-diagnose", action="store_true", help="skip probes and gradient conflict")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..demo.pipeline import DemoConfig, run_demo
    from .main import main  # the demo runs every step as this command line's own sub-command

    config = DemoConfig(workdir=args.workdir, steps=args.steps, single_task_steps=args.single_task_steps,
                        seed=args.seed, deepspeed=None if args.deepspeed == "none" else args.deepspeed,
                        transfer=not args.no_transfer, diagnose=not args.no_diagnose)
    run_demo(config, run_command=main)
    return 0
