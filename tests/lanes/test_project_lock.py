"""The project lane is a complete lock: constraints/project-lock.txt is generated from its inputs (and
regenerated when they change), keeps the hand pins, and pins every distribution the lane holds."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "constraints" / "project-lock.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)==(\S+)$")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines):
    """{canonical name: version} of `name==version` lines; anything else but comments and blanks is an error."""
    found = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin: {line!r}"
        found[canonical(match.group(1))] = match.group(2)
    return found


def not_pinned_alike(freeze_lines, lock):
    """What a `pip freeze` holds that the lock does not pin at the same version."""
    return sorted(f"{name}=={version} (lock: {lock.get(name, 'not pinned')})"
                  for name, version in pins(freeze_lines).items() if lock.get(name) != version)


def lock_inputs():
    spec = importlib.util.spec_from_file_location("lock_inputs", REPO / "scripts" / "lanes" / "lock_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lock_records_the_digest_of_its_current_inputs():
    header = [line for line in LOCK.read_text().splitlines() if line.startswith("# inputs-sha256: ")]
    assert header == [f"# inputs-sha256: {lock_inputs().lock_inputs_digest()}"], (
        "constraints/cpu.txt, constraints/llava-runtime.txt or pyproject.toml changed since the lock was "
        "generated: run `bash scripts/lanes/lock-project-lane.sh` and commit constraints/project-lock.txt")
    assert "bash scripts/lanes/lock-project-lane.sh" in LOCK.read_text()


def test_a_change_to_an_input_changes_the_digest(tmp_path):
    module = lock_inputs()
    (tmp_path / "constraints").mkdir()
    for name in module.INPUT_FILES:
        (tmp_path / "constraints" / name).write_text((REPO / "constraints" / name).read_text())
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    assert module.lock_inputs_digest(tmp_path) == module.lock_inputs_digest()
    with (tmp_path / "constraints" / "cpu.txt").open("a") as handle:
        handle.write("# a comment changes nothing\n")
    assert module.lock_inputs_digest(tmp_path) == module.lock_inputs_digest()
    with (tmp_path / "constraints" / "llava-runtime.txt").open("a") as handle:
        handle.write("wandb\n")
    assert module.lock_inputs_digest(tmp_path) != module.lock_inputs_digest()


def test_every_line_of_the_lock_is_an_exact_pin_and_the_hand_pins_hold():
    lock = pins(LOCK.read_text().splitlines())
    hand = pins(line.split("#", 1)[0] for line in (REPO / "constraints" / "cpu.txt").read_text().splitlines())
    for name, version in hand.items():
        assert name in lock, name
        assert Version(Version(lock[name]).public) == Version(version), (name, lock[name], version)
    assert "socialfusion-plugin" not in lock  # the plugin itself is not pinned
    assert {"setuptools", "wheel", "llava-torch", "shortuuid", "pytest", "deepspeed"} <= set(lock)


def test_a_distribution_the_lock_does_not_pin_is_reported():
    lock = {"torch": "2.13.0+cpu", "numpy": "2.4.6"}
    assert not_pinned_alike(["torch==2.13.0+cpu", "numpy==2.4.6"], lock) == []
    assert not_pinned_alike(["torch==2.13.0+cpu", "numpy==2.4.7", "rich==14.0.0"], lock) == [
        "numpy==2.4.7 (lock: 2.4.6)", "rich==14.0.0 (lock: not pinned)"]


@pytest.mark.skipif(Path(sys.prefix).resolve() != (REPO / ".venv").resolve(),
                    reason="checks the project lane (.venv, built by scripts/setup-cpu.sh); this is another lane")
def test_the_project_lane_holds_only_what_the_lock_pins():
    freeze = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert freeze, "pip freeze printed nothing"
    lock = pins(LOCK.read_text().splitlines())
    assert not_pinned_alike(freeze, lock) == [], (
        "the project lane holds distributions the lock does not pin (rebuild .venv with scripts/setup-cpu.sh, or "
        "regenerate the lock with scripts/lanes/lock-project-lane.sh)")
