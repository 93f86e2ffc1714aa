"""pyproject.toml's ranges for the host stack are the ones CI runs: each floor is the LLaVA lane's version
(the doctor's lowest tested), and each range admits the highest tested version (the project lane's lock)."""
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from socialfusion_plugin.doctor.version_checks import ci_ranges

REPO = Path(__file__).resolve().parents[2]

if sys.version_info >= (3, 11):
    import tomllib
else:  # the LLaVA lane runs Python 3.10; the test extra installs tomli there
    import tomli as tomllib


def declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"]) + [line for extra in project["optional-dependencies"].values() for line in extra]
    return {Requirement(line).name.lower().replace("_", "-"): Requirement(line) for line in lines}


def ranges_ci_runs():
    return {name.lower().replace("_", "-"): versions for name, versions in ci_ranges().items()}


@pytest.mark.parametrize("name", sorted(set(declared()) & set(ranges_ci_runs())))
def test_the_declared_range_is_run_at_both_ends(name):
    requirement, (low, high) = declared()[name], ranges_ci_runs()[name]
    assert requirement.specifier.contains(low, prereleases=True), (str(requirement), low)
    assert requirement.specifier.contains(high, prereleases=True), (str(requirement), high)
    floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    assert floors == [low], f"{requirement}: the floor must be the LLaVA lane's {low}"


def test_every_runtime_and_train_dependency_has_the_floor_the_llava_lane_installs():
    """No open-ended requirement: each one's floor is a version the LLaVA lane installs (LLaVA's pins or
    the lane's floors). The test extra's tools (pytest, shortuuid) run at what pip resolves."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lane = {}
    for name in ("llava-c121f04.txt", "llava-lane-floors.txt"):
        for line in (REPO / "constraints" / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if "==" in line:
                package, version = line.split("==", 1)
                lane[package.lower().replace("_", "-")] = version
    for line in list(project["dependencies"]) + list(project["optional-dependencies"]["train"]):
        requirement = Requirement(line)
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert floors, f"{requirement}: no floor"
        name = requirement.name.lower().replace("_", "-")
        if name in lane:  # the others' floors are the doctor table's lowest (test above)
            assert floors == [lane[name]], f"{requirement}: the LLaVA lane installs {lane[name]}"


def test_requires_python_floor_is_the_llava_lane_python():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    lane_script = (REPO / "scripts" / "setup-llava-lane.sh").read_text()
    assert "sys.version_info[:2] == (3, 10)" in lane_script


def test_the_host_stack_is_declared_with_floors():
    assert {"torch", "transformers", "peft", "accelerate", "open-clip-torch", "numpy", "scikit-learn", "datasets",
            "pyarrow", "sentencepiece", "deepspeed"} <= set(declared()) & set(ranges_ci_runs())
    assert Version("1.0") not in declared()["accelerate"].specifier  # 1.0 removed dispatch_batches
