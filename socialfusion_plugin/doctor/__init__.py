"""`socialfusion doctor`: checks an installed environment before a job is launched.

Each check module returns `Finding`s (ok / info / warning / problem); a problem is something that
would stop training or evaluation, and its message says what to do. Nothing here builds a model or
downloads anything, so the whole check takes a few seconds.
"""
from .checks import run_checks
from .findings import Finding, exit_code

__all__ = ["Finding", "exit_code", "run_checks"]
