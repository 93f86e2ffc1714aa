"""Pre-flight checks: every path and weight file a command will need, checked BEFORE any model is
loaded (which takes minutes at 7B), with every problem in one report.

Each command has one entry, called first thing by the command:

    check_train_arguments(argv, host)  socialfusion train / python -m socialfusion_plugin.train
    check_eval_arguments(args, host)   socialfusion eval
    check_probe_arguments(args, ...)   socialfusion probe
    check_conflict_arguments(args, ..., host) socialfusion conflict
    check_merge_arguments(args, host)  socialfusion merge

They raise `PreflightError` (a ValueError; one line per problem, naming the flag, the path and what
is missing or what to do) and return quietly when everything is there. The checks are cheap: stat
calls, small JSON files (config.json, weight indexes), one streamed pass over a record file, a
sample of its images. Weights are never opened or hashed, and no model is built.
"""
from .diagnostics_checks import check_conflict_arguments, check_probe_arguments
from .eval_checks import check_eval_arguments, check_merge_arguments, check_suite_arguments
from .report import PreflightError, PreflightReport
from .train_checks import check_train_arguments

__all__ = ["PreflightError", "PreflightReport", "check_conflict_arguments", "check_eval_arguments",
           "check_merge_arguments", "check_probe_arguments", "check_suite_arguments", "check_train_arguments"]
