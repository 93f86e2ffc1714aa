"""All doctor checks in the order a report shows them: versions, imports, accelerator, tower."""
from __future__ import annotations

from typing import List, Optional

from ..host_interface import ModelHost
from . import version_checks
from .accelerator_check import check_accelerator
from .findings import Finding
from .import_checks import check_imports
from .tower_check import check_vision_tower


def run_checks(host: ModelHost, vision_tower: Optional[str] = None,
               lookup: Optional[version_checks.VersionLookup] = None, strict: bool = False) -> List[Finding]:
    """`host`'s environment (its versions, its framework's import) and whether its training can use
    DeepSpeed here. `lookup(distribution) -> version or None` defaults to the installed package
    metadata; `strict` makes a version CI never ran (inside the declared range, not known to break) a
    problem, not a warning."""
    lookup = lookup or version_checks.installed_version
    findings = version_checks.check_versions(host, lookup, strict)
    findings += check_imports(host)
    findings += check_accelerator(host, lookup)
    if vision_tower:
        findings.append(check_vision_tower(vision_tower))
    return findings
