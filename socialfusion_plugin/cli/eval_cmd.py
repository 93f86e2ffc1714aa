"""`socialfusion eval`: predictions of a checkpoint on a converted split (generate or rank), or the
loss of a model on general instruction data (--mode loss, the forgetting check).

A rerun into the same --out resumes only the same evaluation (evaluation/provenance.py), one process
at a time (evaluation/output_guard.py); --overwrite starts the file afresh."""
from __future__ import annotations

from pathlib import Path

from .. import registry
from ..atomic_files import atomic_write_json
from ..evaluation.output_guard import claim_output, exclusive_output
from ..evaluation.rank_policy import rank_policy
from ..evaluation.runner import EvalSettings, decoding_values, run_eval
from .main import CommandError
from .decoding_args import add_decoding_arguments
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
    add_decoding_arguments(parser)
    parser.add_argument("--option", action="append", metavar="KEY=VALUE", help="task option (repeatable)")
    parser.add_argument("--limit", type=int, help="only the first N records")
    parser.add_argument("--text-only", action="store_true", help="loss mode: use only samples without an image")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda when available, else cpu)")
    parser.add_argument("--dtype", choices=("float32", "float16", "bfloat16"),
                        help="dtype the weights are loaded in (default: float32 on cpu, float16 on cuda as LLaVA)")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard the predictions already in --out (made another way) and predict afresh")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..host_interface import active_host
    from ..preflight import check_eval_arguments

    host = active_host()
    check_eval_arguments(args, host)  # every missing path and weight file, before any model loads
    if args.device is None:
        from ..evaluation.suite_processes import Processes, default_device

        args.device = default_device(Processes())
    settings = EvalSettings(mode="generate" if args.mode == "loss" else args.mode, limit=args.limit,
                            **decoding_values(args))
    if args.mode == "loss":
        return _run_loss(args, settings, host)
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
    kind = host.checkpoint_kind(args.model_path, args.model_base)  # a wrong path fails here, before any write
    with exclusive_output(args.out):
        note = claim_output(args.out, _info(args, task_options, opts, kind, host), overwrite=args.overwrite)
        if note:
            print(note)
        summary = _predict(args, records, settings, policy, host)
    print(f"{args.task}: {summary.line()} -> {args.out}")
    return 0


def _predict(args, records, settings, policy, host):
    from ..evaluation.model_calls import model_calls

    generate, rank = model_calls(host, _load(args, host), args.conv_mode, args.max_new_tokens, args.temperature,
                                 args.seed, policy)
    return run_eval(records, args.data, args.image_folder, args.out, settings, generate=generate, rank=rank,
                    policy=policy, progress=not args.no_progress)


def _info(args, task_options, opts, kind: str, host) -> dict:
    """What `report` needs to score the predictions later, and the provenance a rerun into the same
    --out must match (evaluation/run_info.py)."""
    import dataclasses

    from ..evaluation.run_info import EvalRun, eval_info, weights_dtype

    return eval_info(EvalRun(
        task=args.task, mode=args.mode, data=args.data, image_folder=args.image_folder, task_options=task_options,
        resolved_options=dataclasses.asdict(opts), model_path=args.model_path, model_base=args.model_base,
        checkpoint_kind=kind, conv_mode=args.conv_mode, max_new_tokens=args.max_new_tokens,
        temperature=args.temperature, seed=args.seed, multi_label_threshold=args.multi_label_threshold,
        limit=args.limit, dtype=weights_dtype(host, args.device, args.dtype)))


def _load(args, host):
    return host.load(args.model_path, args.model_base, device=args.device, dtype=args.dtype)


def _run_loss(args, settings, host) -> int:
    from ..evaluation.forgetting import loss_record
    from ..evaluation.records import image_path, load_records, open_image
    from ..progress import progress_bar

    records = load_records(args.data)
    if args.text_only:
        records = [r for r in records if "image" not in r]
    if args.limit:
        records = records[: args.limit]
    if not records:
        raise CommandError(f"{args.data}: no samples to measure")
    if host.is_language_model_only(args.model_path, args.model_base):
        loaded = host.load_language_model(args.model_path, device=args.device, dtype=args.dtype)
    else:
        loaded = _load(args, host)
    where = str(args.data)
    with progress_bar(enabled=not args.no_progress, total=len(records), description="eval loss", unit=" samples") as bar:
        result = host.general_loss(loaded, records, lambda r: open_image(image_path(r, args.image_folder, where), f"{where} record {r['id']!r}"),
                              conv_mode=args.conv_mode, batch_size=args.batch_size, progress=bar)
    record = loss_record(result, str(args.model_path), args.model_base, args.data)
    atomic_write_json(args.out, record)
    print(f"loss {record['mean_loss']} perplexity {record['perplexity']} over {record['tokens']} tokens of "
          f"{record['samples']} samples ({record['skipped_image_samples']} image samples skipped) -> {args.out}")
    return 0
