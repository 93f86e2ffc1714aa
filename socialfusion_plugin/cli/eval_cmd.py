"""`socialfusion eval`: `eval-suite` with one task, on a given converted file, predictions into a
given file (generate or rank); or the loss of a model on general instruction data (--mode loss, the
forgetting check).

A rerun into the same --out resumes only the same evaluation (evaluation/provenance.py), one process
at a time (evaluation/prediction_file.py); --overwrite starts the file afresh."""
from __future__ import annotations

from pathlib import Path

from .. import registry
from ..atomic_files import atomic_write_json
from ..evaluation.suite import SuiteSettings
from .eval_suite_cmd import suite_settings
from .flags import add_dataclass_arguments, add_shared_flag, parse_key_values
from .main import CommandError


def register(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="predictions for a checkpoint on a converted split; or --mode loss")
    parser.add_argument("--task", help="task name (required for generate and rank)")
    parser.add_argument("--data", required=True, type=Path, help="converted LLaVA JSON (loss mode: any LLaVA JSON)")
    parser.add_argument("--out", required=True, type=Path, help="predictions JSON lines (loss mode: a JSON file)")
    add_shared_flag(parser, "--image-folder")
    parser.add_argument("--mode", choices=("generate", "rank", "loss"), default="generate")
    add_shared_flag(parser, "--option")
    parser.add_argument("--limit", type=int, help="only the first N records")
    parser.add_argument("--text-only", action="store_true", help="loss mode: use only samples without an image")
    add_dataclass_arguments(parser, SuiteSettings)
    add_shared_flag(parser, "--no-progress")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..evaluation.suite import Suite, SuiteEntry, evaluate_suite
    from ..evaluation.suite_processes import Processes, start_processes, stop_processes
    from ..host_interface import active_host
    from ..preflight import check_eval_arguments

    host = active_host()
    check_eval_arguments(args, host)  # every missing path and weight file, before any model loads
    if args.mode != "loss" and not args.task:
        raise CommandError("--task is required for --mode generate and --mode rank")
    if args.limit is not None and args.limit < 1:
        raise CommandError(f"--limit must be >= 1, got {args.limit}")
    if args.mode == "loss":  # one process measures the loss: no process group to start
        return _run_loss(args, suite_settings(args, Processes(), run_dir=args.out.parent), host)
    processes = start_processes()
    try:
        settings = suite_settings(args, processes, run_dir=args.out.parent)
        # the one-task suite: this task on --data, its predictions in --out
        entry = SuiteEntry(task=registry.TASKS.get(args.task).name, data=args.data, image_folder=args.image_folder,
                           mode=args.mode, options=parse_key_values(args.option), limit=args.limit,
                           predictions=args.out)
        evaluate_suite(Suite([entry], "--task"), settings, processes, host)  # it prints on the first process only
    finally:
        stop_processes(processes)
    return 0


def _run_loss(args, settings: SuiteSettings, host) -> int:
    from ..evaluation.report import loss_record
    from ..evaluation.records import image_path, load_records, open_image
    from ..progress import progress_bar

    records = load_records(args.data)
    if args.text_only:
        records = [r for r in records if "image" not in r]
    if args.limit:
        records = records[: args.limit]
    if not records:
        raise CommandError(f"{args.data}: no samples to measure")
    if host.is_language_model_only(settings.model_path, settings.model_base):
        loaded = host.load_language_model(settings.model_path, device=settings.device, dtype=settings.dtype)
    else:
        loaded = host.load(settings.model_path, settings.model_base, device=settings.device, dtype=settings.dtype)
    where = str(args.data)
    with progress_bar(enabled=settings.progress, total=len(records), description="eval loss", unit=" samples") as bar:
        result = host.general_loss(
            loaded, records, lambda r: open_image(image_path(r, args.image_folder, where), f"{where} record {r['id']!r}"),
            conv_mode=settings.conv_mode, batch_size=settings.batch_size, progress=bar)
    record = loss_record(result, str(settings.model_path), settings.model_base, args.data)
    atomic_write_json(args.out, record)
    print(f"loss {record['mean_loss']} perplexity {record['perplexity']} over {record['tokens']} tokens of "
          f"{record['samples']} samples ({record['skipped_image_samples']} image samples skipped) -> {args.out}")
    return 0
