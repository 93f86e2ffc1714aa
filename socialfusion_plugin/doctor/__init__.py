"""`socialfusion doctor`: checks an installed environment before a job is launched.

Each check module returns `Finding`s (ok / info / warning / problem); a problem is something that
would stop training or evaluation, and its message says what to do. Nothing here builds a model or
downloads anything, so the whole check takes a few seconds.
"""
from __future__ import annotations

from typing import List, Optional

from ..host_interface import ModelHost
from . import version_checks
from .accelerator_check import check_accelerator
from .findings import Finding, exit_code
from .import_checks import check_imports
from .tower_check import check_vision_tower

__all__ = ["Finding", "exit_code", "run_checks"]


def run_checks(host: ModelHost, vision_tower: Optional[str] = None,
               lookup: Optional[version_checks.VersionLookup] = None, strict: bool = False) -> List[Finding]:
    """All checks, in the order a report shows them. `lookup(distribution) -> version or None`
    defaults to the installed package metadata (looked up at call time, so tests can replace it);
    `strict` makes a version CI never ran (inside the declared range, not known to break) a problem."""
    lookup = lookup or version_checks.installed_version
    findings = version_checks.check_versions(host, lookup, strict)
    findings += check_imports(host)
    findings += check_accelerator(host, lookup)
    if vision_tower:
        findings.append(check_vision_tower(vision_tower))
    return findings
