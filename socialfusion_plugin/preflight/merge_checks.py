"""`socialfusion merge`: a LoRA checkpoint of a LLaVA model, its base model and its tower, and an
output folder that can be written, before the base model is loaded."""
from __future__ import annotations

from ..host_interface import InferenceHost
from .checkpoint_folders import check_loaded_checkpoint
from .locations import output_folder_problem
from .report import PreflightReport


def check_merge_arguments(args, host: InferenceHost) -> None:
    report = PreflightReport()
    check_loaded_checkpoint(report, host.checkpoint_files, "--model-path", args.model_path, "--model-base",
                            args.model_base, lora_only=True)
    report.add("--out", None, output_folder_problem(args.out))
    report.raise_if_any()
