"""`socialfusion eval` (and eval-suite): the checkpoint, its base and tower, the data and its images,
the output file; `socialfusion merge`: a LoRA checkpoint of a LLaVA model, its base model and its
tower, and an output folder that can be written, before the base model is loaded.

- `--model-path` / `--model-base`: what LLaVA's loader will read for the checkpoint's kind
  (`checkpoint_folders.py`), and config.json's `mm_vision_tower`; a plain language model (no
  `mm_vision_tower`) has no vision tower or image processor, so it can only be given `--mode loss`
  (LLaVA's loader would build it and then fail in `process_images` on the first image);
- `--data`: a JSON list; the images of the records eval will use (the task's records, the first
  `--limit`; none for `--text-only` or a plain language model in loss mode) are resolved as eval
  resolves them (`evaluation.records.image_path`: relative to `--image-folder`, never outside it)
  and checked on a sample;
- `--out`: a file that can be written (its folder exists or can be created).
"""
from __future__ import annotations

from types import SimpleNamespace

from ..evaluation.records import image_path
from ..host_interface import InferenceHost
from .checkpoint_folders import check_loaded_checkpoint
from .data_files import check_record_file
from .locations import output_file_problem, output_folder_problem
from .report import PreflightReport


def check_suite_arguments(suite, settings, host: InferenceHost) -> None:
    """eval-suite: every task's data file, images and output, and the checkpoint, before any model
    loads (`suite`: an evaluation.suite.Suite; `settings`: its SuiteSettings)."""
    from ..evaluation.layout import RunLayout

    layout = RunLayout(settings.run_dir)
    for entry in suite.entries:
        check_eval_arguments(SimpleNamespace(
            model_path=settings.model_path, model_base=settings.model_base, mode=entry.mode, text_only=False,
            task=entry.task, data=entry.data, image_folder=entry.image_folder, limit=entry.limit,
            out=entry.predictions or layout.predictions(entry.task)), host)


def check_eval_arguments(args, host: InferenceHost) -> None:
    report = PreflightReport()
    check_loaded_checkpoint(report, host.checkpoint_files, args.model_path, args.model_base)
    loss = args.mode == "loss"
    try:
        language_model_only = host.is_language_model_only(args.model_path, args.model_base)
    except (OSError, ValueError):  # an unreadable config.json is reported by the checkpoint check
        language_model_only = False
    if language_model_only and not loss:
        report.add("--model-path", args.model_path,
                   f"is a plain language model (its config.json names no mm_vision_tower): it cannot see the images "
                   f"of --task {args.task} (--mode {args.mode}); use a LLaVA checkpoint (a socialfusion or LLaVA "
                   "training run, with --model-base for a LoRA run), or --mode loss (with --text-only for text "
                   "samples only) to measure the language model's loss")
    images = not (loss and (args.text_only or language_model_only))  # else only the file itself is checked

    def keep(record) -> bool:
        if not (images and isinstance(record, dict)):
            return False
        if loss:
            return not (args.text_only and "image" in record)
        meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
        return meta.get("task", args.task) == args.task

    check_record_file(report, "--data", args.data, "--image-folder", args.image_folder,
                      lambda image, record, index: str(image_path(record, args.image_folder, str(args.data))),
                      keep=keep, limit=args.limit)
    report.add("--out", None, output_file_problem(args.out))
    report.raise_if_any()


def check_merge_arguments(args, host: InferenceHost) -> None:
    report = PreflightReport()
    check_loaded_checkpoint(report, host.checkpoint_files, args.model_path, args.model_base, lora_only=True)
    report.add("--out", None, output_folder_problem(args.out))
    report.raise_if_any()
