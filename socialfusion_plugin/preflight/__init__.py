"""Pre-flight checks: every path and weight file a command will need, checked BEFORE any model is
loaded (which takes minutes at 7B), with every problem in one report.

Each command calls its `check_<command>_arguments` first thing; it raises `PreflightError` (one line
per problem, naming the flag, the path and what to do) or returns quietly. The checks are cheap: stat
calls, small JSON files (config.json, weight indexes), one streamed pass over a record file, a
sample of its images. Weight headers are read, never whole weights except the trained ones
(connector, LoRA), and no model is built.
"""
from .diagnostics_checks import check_conflict_arguments, check_probe_arguments
from .eval_checks import check_eval_arguments, check_merge_arguments, check_suite_arguments
from .report import PreflightError, PreflightReport
from .train_checks import check_train_arguments

__all__ = ["PreflightError", "PreflightReport", "check_conflict_arguments", "check_eval_arguments",
           "check_merge_arguments", "check_probe_arguments", "check_suite_arguments", "check_train_arguments"]
