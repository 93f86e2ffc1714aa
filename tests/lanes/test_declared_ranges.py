"""pyproject.toml's ranges for the host stack are the ones CI runs at both ends: each floor is the
LLaVA lane's version (the doctor's lowest tested), and each range admits the highest tested version."""
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from socialfusion_plugin.doctor.tested_versions import TESTED

REPO = Path(__file__).resolve().parents[2]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the lanes run 3.11
    tomllib = pytest.importorskip("tomli")


def declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"]) + [line for extra in project["optional-dependencies"].values() for line in extra]
    return {Requirement(line).name.lower().replace("_", "-"): Requirement(line) for line in lines}


def ranges_ci_runs():
    return {name.lower().replace("_", "-"): versions for name, versions in TESTED.items()}


@pytest.mark.parametrize("name", sorted(set(declared()) & set(ranges_ci_runs())))
def test_the_declared_range_is_run_at_both_ends(name):
    requirement, (low, high) = declared()[name], ranges_ci_runs()[name]
    assert requirement.specifier.contains(low, prereleases=True), (str(requirement), low)
    assert requirement.specifier.contains(high, prereleases=True), (str(requirement), high)
    floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    assert floors == [low], f"{requirement}: the floor must be the LLaVA lane's {low}"


def test_the_host_stack_is_declared_with_floors():
    assert {"torch", "transformers", "peft", "accelerate", "open-clip-torch", "numpy", "scikit-learn", "datasets",
            "pyarrow", "sentencepiece", "deepspeed"} <= set(declared()) & set(ranges_ci_runs())
    assert Version("1.0") not in declared()["accelerate"].specifier  # 1.0 removed dispatch_batches
