"""`socialfusion doctor`: check this environment before launching a training or evaluation job.

Prints one line per check and exits 1 when a problem would stop training or evaluation, else 0. A host
version CI never ran is a warning (exit 0) unless `--strict`. stdout carries only the report: what
imported libraries print (DeepSpeed's accelerator line) goes to stderr, so `--json` is one JSON document.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys

from .flags import add_shared_flag


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check host package versions, imports, accelerator and vision tower weights")
    parser.add_argument("--vision_tower", "--vision-tower", dest="vision_tower", default=None, metavar="VALUE",
                        help="the --vision_tower value training will get, e.g. open_clip:ViT-L-14-336@openai; "
                             "checks its weights are on this machine (never downloads)")
    parser.add_argument("--strict", action="store_true",
                        help="a version CI never ran (inside the declared range, not known to break) is a "
                             "problem (exit 1) instead of a warning")
    # kept so that scripts written for the earlier default keep working: untested is a warning by default now
    parser.add_argument("--allow-untested", action="store_true", help=argparse.SUPPRESS)
    add_shared_flag(parser, "--json")
    parser.set_defaults(handler=run)


@contextlib.contextmanager
def library_output_to_stderr():
    """Send what imported libraries print (DeepSpeed's logger, bitsandbytes) to stderr, at the Python and
    the file-descriptor level, so stdout carries only the report (and stays valid JSON)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run(args) -> int:
    with library_output_to_stderr():
        # importing the checks already imports the host's libraries (DeepSpeed creates its stdout logger
        # then), so the import belongs inside the redirection too
        from ..doctor import exit_code, run_checks
        from ..host_interface import active_host

        findings = run_checks(active_host(), vision_tower=args.vision_tower, strict=args.strict)
    code = exit_code(findings)
    if args.json:
        print(json.dumps({"exit_code": code, "findings": [dataclasses.asdict(f) for f in findings]}, indent=2))
        return code
    for finding in findings:
        print(finding.line())
    counts = {level: sum(f.level == level for f in findings) for level in ("problem", "warning")}
    verdict = "training or evaluation would not run" if code else "nothing found that would stop training or evaluation"
    print(f"{counts['problem']} problem(s), {counts['warning']} warning(s): {verdict}")
    return code
