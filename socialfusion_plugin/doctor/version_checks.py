"""Installed host package versions against the tested ranges and the known-breaking ones.

Versions are read from package metadata (nothing is imported), through `installed_version`, which
tests replace to simulate other environments.
"""
from __future__ import annotations

from importlib import metadata
from typing import Callable, List, Optional

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .findings import OK, INFO, PROBLEM, WARNING, Finding
from .tested_versions import KNOWN_BREAKS, OPTIONAL, TESTED

VersionLookup = Callable[[str], Optional[str]]


def installed_version(distribution: str) -> Optional[str]:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _public(version: str) -> Version:
    return Version(Version(version).public)  # 2.13.0+cpu compares as 2.13.0


def _matches(version: str, specifier: str) -> bool:
    return SpecifierSet(specifier).contains(_public(version), prereleases=True)


def known_breaks(package: str, version: str, lookup: VersionLookup) -> List[str]:
    """Messages of every known break the installed `version` of `package` hits in this environment."""
    messages = []
    for rule in KNOWN_BREAKS:
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


def check_package(package: str, lookup: VersionLookup = installed_version, untested: str = PROBLEM) -> List[Finding]:
    """`untested`: the level of a version outside the tested range that is not known to break: a
    problem by default (CI never ran it), a warning with `doctor --allow-untested`."""
    low, high = TESTED[package]
    check = f"version {package}"
    version = lookup(package)
    if version is None:
        if package in OPTIONAL:
            return [Finding(check, INFO, f"not installed; {OPTIONAL[package]}")]
        return [Finding(check, PROBLEM, f"not installed: `pip install {package}=={low}` (tested {low} .. {high})")]
    broken = known_breaks(package, version, lookup)
    if broken:
        return [Finding(check, PROBLEM, message) for message in broken]
    if not _public(low) <= _public(version) <= _public(high):
        advice = "" if untested == WARNING else (
            f": install a tested version (`pip install \"{package}>={low},<={high}\"`), or run "
            "`socialfusion doctor --allow-untested` to accept it")
        return [Finding(check, untested, f"{version} is outside the tested range {low} .. {high} "
                                         f"(not known to break, but CI never ran it){advice}")]
    return [Finding(check, OK, f"{version} (tested {low} .. {high})")]


def check_versions(lookup: VersionLookup = installed_version, untested: str = PROBLEM) -> List[Finding]:
    return [finding for package in TESTED for finding in check_package(package, lookup, untested)]
