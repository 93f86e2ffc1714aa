"""The decoding flags `eval` and `eval-suite` share, defined once so their defaults cannot drift
(they must match evaluation.runner.EvalSettings)."""
from __future__ import annotations


def add_decoding_arguments(parser) -> None:
    parser.add_argument("--batch-size", type=int, default=8, help="samples per forward pass (default 8)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling when --temperature > 0")
    parser.add_argument("--conv-mode", default="v1", help="LLaVA conversation template used in training")
    parser.add_argument("--multi-label-threshold", type=float, default=0.1,
                        help="rank, multi-label tasks: predict every label with probability >= this (plus the best)")
