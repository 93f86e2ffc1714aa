"""Installed package versions against what breaks, what the plugin declares, and what CI ran.

Most serious first: a version known to break (`break_rules(host)`: the host's rules for its own
packages, then PLUGIN_BREAKS, each saying what to install instead; the training start-up check says
the same) or outside the range the plugin declares is a problem; one inside that range but outside
what CI ran is a warning, "untested" (a problem with `doctor --strict`), since a new release of a
library is not a fault; else ok. What CI ran is read from the lane files it installs, shipped in the
package (`resources/constraints/`, which the repository's `constraints/` links to), so there is one
source of "tested"; the newest-allowed lane floats on purpose (CI's canary), so a newer release than
these is "untested", not broken. Versions come from package metadata: nothing is imported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ..host_interface import EnvironmentHost, HostEnvironmentError
from ..resources import CONSTRAINTS_DIR
from .findings import INFO, OK, PROBLEM, WARNING, Finding

CHECKED = (
    "torch", "torchvision", "transformers", "tokenizers", "accelerate", "peft", "deepspeed", "open_clip_torch",
    "timm", "numpy", "datasets", "pyarrow", "scikit-learn", "sentencepiece",
    # libraries LLaVA leaves unpinned; the LLaVA lane installs the plugin's floors of these
    "pillow", "PyYAML", "tqdm", "scipy", "matplotlib", "filelock",
)

# The files whose `==` pins are versions a CI lane installs.
LANE_FILES = ("project-lock.txt", "llava-c121f04.txt", "llava-lane-floors.txt")

# Only needed for some runs: missing is an info line, not a problem.
OPTIONAL = {
    "deepspeed": "needed only for --deepspeed runs; install the plugin's [train] extra, or the version LLaVA pins "
                 "for its torch 2.1.2: `pip install deepspeed==0.12.6`",
}

PLUGIN_DISTRIBUTION = "socialfusion-plugin"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def canonical(name: str) -> str:
    """PEP 503 name: `open_clip_torch`, `Open-Clip-Torch` and `open.clip.torch` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> Version:
    return Version(Version(version).public)  # 2.13.0+cpu compares as 2.13.0


@lru_cache(maxsize=None)
def ci_ranges(constraints_dir: Path = CONSTRAINTS_DIR) -> Dict[str, Tuple[str, str]]:
    """{name as in CHECKED: (lowest, highest)} over the `name==version` lines of the lane files (comments
    ignored); a checked package that no lane file pins has no entry."""
    versions: Dict[str, list] = {}
    for path in (constraints_dir / file_name for file_name in LANE_FILES):
        if not path.is_file():  # a damaged install: its packages show as untested
            continue
        for line in path.read_text().splitlines():
            match = _PIN.match(line.split("#", 1)[0].strip())
            if match:
                versions.setdefault(canonical(match.group(1)), []).append(match.group(2))
    found = {name: sorted(versions.get(canonical(name), []), key=public) for name in CHECKED}
    return {name: (pins[0], pins[-1]) for name, pins in found.items() if pins}


@lru_cache(maxsize=None)
def declared_ranges() -> Dict[str, SpecifierSet]:
    """{canonical name: specifier} of the plugin's requirements, extras included (deepspeed is [train]);
    empty when the plugin runs from a checkout that was never installed."""
    try:
        requirements = metadata.requires(PLUGIN_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return {}
    declared = {}
    for line in requirements:
        requirement = Requirement(line)
        if requirement.specifier:
            declared.setdefault(canonical(requirement.name), requirement.specifier)
    return declared


VersionLookup = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class KnownBreak:
    package: str
    versions: str  # PEP 440 specifier the installed version matches when it breaks
    # why it breaks and what to install instead: a template with {version} and {other}, or the host's
    # check of the installed version, which raises HostEnvironmentError saying so
    reason: Union[str, Callable[[str], None]]
    together_with: Optional[Tuple[str, str]] = None  # (package, specifier): breaks only with this too

    def message(self, version: str, lookup: VersionLookup) -> Optional[str]:
        """Why the installed `version` of `self.package` breaks in this environment; None when it does not."""
        if not _matches(version, self.versions):
            return None
        other = None
        if self.together_with is not None:
            other = lookup(self.together_with[0])
            if other is None or not _matches(other, self.together_with[1]):
                return None
        if isinstance(self.reason, str):
            return self.reason.format(version=version, other=other)
        try:
            self.reason(version)
        except HostEnvironmentError as err:
            return str(err)
        return ""


PLUGIN_BREAKS = (
    KnownBreak(
        "open_clip_torch", "<2.32",
        "open_clip_torch {version} has no VisionTransformer.forward_intermediates (added in 2.32.0), which "
        "the vision tower uses to select a layer: `pip install open_clip_torch==2.32.0`",
    ),
    KnownBreak(
        "open_clip_torch", ">=3",
        "open_clip_torch {version} requires timm>=1.0.17 but timm {other} is installed (LLaVA pins 0.6.13): "
        "`pip install open_clip_torch==2.32.0`, which works with LLaVA's timm",
        together_with=("timm", "<1.0.17"),
    ),
    KnownBreak(
        "pyarrow", ">=26",
        "pyarrow {version} refuses numpy<2 at import and numpy {other} is installed (LLaVA's gradio 4.16 pins "
        "numpy 1.x), so `datasets` and transformers' trainer cannot import: `pip install pyarrow==25.0.1`",
        together_with=("numpy", "<2"),
    ),
)


def break_rules(host: EnvironmentHost) -> Tuple[KnownBreak, ...]:
    """The host's known breaks of its own packages, then the plugin's."""
    return tuple(KnownBreak(*rule) for rule in host.version_breaks()) + PLUGIN_BREAKS


def installed_version(distribution: str) -> Optional[str]:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _matches(version: str, specifier) -> bool:
    return SpecifierSet(str(specifier)).contains(public(version), prereleases=True)


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
    broken = [message for rule in rules if rule.package == package
              for message in [rule.message(version, lookup)] if message is not None]
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
