"""`socialfusion eval`: predictions of a checkpoint on a converted split (generate or rank), or the
loss of a model on general instruction data (--mode loss, the forgetting check)."""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from .. import registry
from ..evaluation.rank_policy import rank_policy
from ..evaluation.runner import EvalSettings, run_eval
from .main import CommandError
from .options_arg import parse_key_values


def register(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="predictions for a checkpoint on a converted split; or --mode loss")
    parser.add_argument("--model-path", required=True, type=Path, help="LoRA run, merged/full checkpoint or base model")
    parser.add_argument("--model-base", help="base language model of a LoRA (or connector-only) checkpoint")
    parser.add_argument("--task", help="task name (required for generate and rank)")
    parser.add_argument("--data", required=True, type=Path, help="converted LLaVA JSON (loss mode: any LLaVA JSON)")
    parser.add_argument("--out", required=True, type=Path, help="predictions JSON lines (loss mode: a JSON file)")
    parser.add_argument("--image-folder", type=Path, help="folder relative image paths start from (the convert --root)")
    parser.add_argument("--mode", choices=("generate", "rank", "loss"), default="generate")
    parser.add_argument("--batch-size", type=int, default=8, help="samples per forward pass (default 8)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling when --temperature > 0")
    parser.add_argument("--conv-mode", default="v1", help="LLaVA conversation template used in training")
    parser.add_argument("--multi-label-threshold", type=float, default=0.1,
                        help="rank, multi-label tasks: predict every label with probability >= this (plus the best)")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE", help="task option (repeatable)")
    parser.add_argument("--limit", type=int, help="only the first N records")
    parser.add_argument("--text-only", action="store_true", help="loss mode: use only samples without an image")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--dtype", choices=("float32", "float16", "bfloat16"),
                        help="dtype the weights are loaded in (default: float32 on cpu, float16 on cuda as LLaVA)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run)


def run(args) -> int:
    settings = EvalSettings(
        mode="generate" if args.mode == "loss" else args.mode, batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed, conv_mode=args.conv_mode,
        multi_label_threshold=args.multi_label_threshold, limit=args.limit,
    )
    if args.mode == "loss":
        return _run_loss(args, settings)
    if not args.task:
        raise CommandError("--task is required for --mode generate and --mode rank")
    task = registry.TASKS.get(args.task)
    task_options = parse_key_values(args.option)
    opts = task.options(task_options)
    policy = rank_policy(task, opts, args.multi_label_threshold) if args.mode == "rank" else None
    from ..evaluation.records import load_records

    records = [r for r in load_records(args.data) if (r.get("meta") or {}).get("task", args.task) == args.task]
    if not records:
        raise CommandError(f"{args.data}: no records of task {args.task!r}")
    loaded = _load(args)
    from ..host.batch_generation import generate_answers
    from ..host.option_ranking import option_token_ids, rank_options

    generate = partial(generate_answers, loaded, conv_mode=args.conv_mode, max_new_tokens=args.max_new_tokens,
                       temperature=args.temperature, seed=args.seed)
    rank = None
    if policy is not None:
        option_ids = option_token_ids(loaded.tokenizer, policy.options, args.conv_mode, complete=policy.complete)
        rank = partial(rank_options, loaded, option_ids=option_ids, conv_mode=args.conv_mode)
    summary = run_eval(records, args.data, args.image_folder, args.out, settings, generate=generate, rank=rank,
                       policy=policy, progress=not args.no_progress)
    _write_info(args, task_options, loaded.kind)
    print(f"{args.task}: {summary.line()} -> {args.out}")
    return 0


def info_path(out: Path) -> Path:
    name = out.name[: -len(".preds.jsonl")] if out.name.endswith(".preds.jsonl") else out.stem
    return out.with_name(f"{name}.eval.json")


def _write_info(args, task_options, kind: str) -> None:
    """What `report` needs to score the predictions later: the references and the task options."""
    info = {
        "task": args.task, "mode": args.mode, "data": str(args.data.resolve()),
        "image_folder": str(args.image_folder.resolve()) if args.image_folder else None,
        "task_options": task_options, "model_path": str(args.model_path), "model_base": args.model_base,
        "checkpoint_kind": kind, "conv_mode": args.conv_mode, "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature, "seed": args.seed,
    }
    info_path(args.out).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def _load(args):
    from ..host.checkpoints import load_checkpoint

    return load_checkpoint(args.model_path, args.model_base, device=args.device, dtype=args.dtype)


def _run_loss(args, settings) -> int:
    from ..evaluation.forgetting import loss_record
    from ..evaluation.records import image_path, load_records, open_image
    from ..host.general_loss import general_loss, is_language_model_only, load_language_model

    records = load_records(args.data)
    if args.text_only:
        records = [r for r in records if "image" not in r]
    if args.limit:
        records = records[: args.limit]
    if not records:
        raise CommandError(f"{args.data}: no samples to measure")
    if is_language_model_only(args.model_path, args.model_base):
        loaded = load_language_model(args.model_path, device=args.device, dtype=args.dtype)
    else:
        loaded = _load(args)
    where = str(args.data)
    result = general_loss(loaded, records, lambda r: open_image(image_path(r, args.image_folder, where), where),
                          conv_mode=args.conv_mode, batch_size=args.batch_size)
    record = loss_record(result, str(args.model_path), args.model_base, args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"loss {record['mean_loss']} perplexity {record['perplexity']} over {record['tokens']} tokens of "
          f"{record['samples']} samples ({record['skipped_image_samples']} image samples skipped) -> {args.out}")
    return 0
