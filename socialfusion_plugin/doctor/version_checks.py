"""Installed package versions against what breaks, what the plugin declares, and what CI ran.

Three cases, most serious first:
- a version known to break (`break_rules`), or outside the range the plugin declares: a problem;
- inside the declared range but outside the versions CI ran (the lanes' lock and pins files): a warning,
  "untested" (a problem with `doctor --strict`), since a new release of a library is not a fault;
- inside what CI ran: ok.
Versions are read from package metadata (nothing is imported), through `installed_version`, which tests
replace to simulate other environments.
"""
from __future__ import annotations

from importlib import metadata
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from packaging.specifiers import SpecifierSet

from ..host_interface import EnvironmentHost
from .findings import INFO, OK, PROBLEM, WARNING, Finding
from .tested_versions import (CHECKED, OPTIONAL, KnownBreak, break_rules, canonical, ci_ranges, declared_ranges,
                              public)

VersionLookup = Callable[[str], Optional[str]]


def installed_version(distribution: str) -> Optional[str]:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _matches(version: str, specifier) -> bool:
    return SpecifierSet(str(specifier)).contains(public(version), prereleases=True)


def known_breaks(package: str, version: str, lookup: VersionLookup, rules: Sequence[KnownBreak]) -> List[str]:
    """Messages of every known break (of `rules`) the installed `version` of `package` hits in this environment."""
    messages = []
    for rule in rules:
        if rule.package != package or not _matches(version, rule.versions):
            continue
        other = None
        if rule.together_with is not None:
            other_package, other_versions = rule.together_with
            other = lookup(other_package)
            if other is None or not _matches(other, other_versions):
                continue
        messages.append(rule.message(version, other))
    return messages


def check_package(package: str, rules: Sequence[KnownBreak], lookup: VersionLookup = installed_version,
                  strict: bool = False, tested: Optional[Dict[str, Tuple[str, str]]] = None,
                  declared: Optional[Dict[str, SpecifierSet]] = None) -> List[Finding]:
    """`rules`: the known breaks (`break_rules(host)`). `strict`: an untested version is a problem
    instead of a warning. `tested` ({package: (low, high)}) and `declared` ({canonical name:
    specifier}) default to the lanes' files and the plugin's metadata."""
    tested = ci_ranges() if tested is None else tested
    declared = declared_ranges() if declared is None else declared
    check = f"version {package}"
    low, high = tested.get(package, (None, None))
    ran = f"CI ran {low} .. {high}" if low else "no CI lane installs it"
    version = lookup(package)
    if version is None:
        if package in OPTIONAL:
            return [Finding(check, INFO, f"not installed; {OPTIONAL[package]}")]
        advice = f"`pip install {package}=={high}`" if high else f"`pip install {package}`"
        return [Finding(check, PROBLEM, f"not installed: {advice} ({ran})")]
    broken = known_breaks(package, version, lookup, rules)
    if broken:
        return [Finding(check, PROBLEM, message) for message in broken]
    specifier = declared.get(canonical(package))
    if specifier is not None and not _matches(version, specifier):
        return [Finding(check, PROBLEM, f"{version} is outside the range the plugin declares ({package}{specifier}): "
                                        f"`pip install \"{package}{specifier}\"` ({ran})")]
    if low is None or not public(low) <= public(version) <= public(high):
        if strict:
            install = f": install a tested version (`pip install \"{package}>={low},<={high}\"`)" if low else ""
            return [Finding(check, PROBLEM, f"{version} is untested: {ran} (--strict){install}")]
        return [Finding(check, WARNING, f"{version} is untested: {ran}; inside the declared range and not known "
                                        "to break")]
    return [Finding(check, OK, f"{version} (tested {low} .. {high})")]


def check_versions(host: EnvironmentHost, lookup: VersionLookup = installed_version,
                   strict: bool = False) -> List[Finding]:
    rules = break_rules(host)
    return [finding for package in CHECKED for finding in check_package(package, rules, lookup, strict)]
