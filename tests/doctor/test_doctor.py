"""`socialfusion doctor` end to end: the real environment, and simulated ones (versions injected through a
fake metadata lookup, so a release that appears on the registry cannot change what these tests see)."""
import json
import os
import subprocess
import sys

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.demo.tiny_assets import build_tiny_tower
from socialfusion_plugin.doctor import import_checks, version_checks
from socialfusion_plugin.doctor.findings import TAGS
from socialfusion_plugin.doctor.version_checks import CHECKED, ci_ranges


def report_lines(out):
    """The doctor's lines (the test process may have printed other things to the captured stdout)."""
    return [line for line in out.splitlines() if line.startswith(tuple(TAGS.values())) or " problem(s), " in line]


def with_versions(monkeypatch, **replaced):
    """Every checked package at the highest version CI ran (the lanes' files), some replaced."""
    installed = {name: high for name, (low, high) in ci_ranges().items()}
    installed.update(replaced)
    monkeypatch.setattr(version_checks, "installed_version", installed.get)


def test_this_environment_has_no_problem_and_exits_0(capsys):
    """The lane's real versions: a newer release than the lanes' files is a warning at most."""
    assert main(["doctor"]) == 0
    lines = report_lines(capsys.readouterr().out)
    for package in CHECKED:
        assert any(line.split(": ")[0].endswith(f" version {package}") for line in lines), package
    assert not [line for line in lines if line.startswith("[PROBLEM]")]
    assert "[ok]      import llava: LlavaLlamaForCausalLM available" in "\n".join(lines)
    assert lines[-1].startswith("0 problem(s), ")
    assert lines[-1].endswith(": nothing found that would stop training or evaluation")


def test_json_report(capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exit_code"] == 0
    checks = [finding["check"] for finding in report["findings"]]
    assert checks[:len(CHECKED)] == [f"version {package}" for package in CHECKED]
    assert {"import llava", "import transformers.trainer", "import open_clip", "accelerator"} <= set(checks)
    assert {finding["level"] for finding in report["findings"]} <= {"ok", "info", "warning"}


def test_a_known_breaking_version_exits_1_with_the_message(monkeypatch, capsys):
    with_versions(monkeypatch, peft="0.14.0")
    assert main(["doctor"]) == 1
    lines = report_lines(capsys.readouterr().out)
    assert "[PROBLEM] version peft: peft 0.14.0 does not import with transformers 4.37.x; install `peft==0.13.2`" in lines
    assert lines[-1].startswith("1 problem(s), ")
    assert lines[-1].endswith(": training or evaluation would not run")


def test_a_utility_released_inside_its_range_is_one_warning_and_exit_0_unless_strict(monkeypatch, capsys):
    low, high = ci_ranges()["filelock"]
    newer = high.rsplit(".", 1)[0] + "." + str(int(high.rsplit(".", 1)[1]) + 1)
    with_versions(monkeypatch, filelock=newer)
    assert main(["doctor"]) == 0
    lines = report_lines(capsys.readouterr().out)
    assert [line for line in lines if not line.startswith("[ok]") and not line.startswith("[info]")][:1] == [
        f"[warning] version filelock: {newer} is untested: CI ran {low} .. {high}; inside the declared range and "
        "not known to break"]
    assert sum(line.startswith("[warning] version ") for line in lines) == 1
    assert main(["doctor", "--strict"]) == 1
    lines = report_lines(capsys.readouterr().out)
    assert (f"[PROBLEM] version filelock: {newer} is untested: CI ran {low} .. {high} (--strict): install a tested "
            f"version (`pip install \"filelock>={low},<={high}\"`)") in lines
    assert main(["doctor", "--allow-untested"]) == 0  # the flag of the earlier default still parses


def test_a_module_that_fails_to_import_exits_1_naming_the_error(monkeypatch, capsys):
    real = import_checks.import_module

    def import_module(name, *args, **kwargs):
        if name == "open_clip":
            raise ModuleNotFoundError("No module named 'ftfy'", name="ftfy")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(import_checks, "import_module", import_module)
    assert main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    problems = [f for f in report["findings"] if f["level"] == "problem"]
    assert [(f["check"], f["message"].split(" (")[0]) for f in problems] == [
        ("import open_clip", "ModuleNotFoundError: No module named 'ftfy'")]


def test_vision_tower_missing_file_exits_1_and_present_file_exits_0(tmp_path, capsys):
    arch, weights = build_tiny_tower(tmp_path / "tower")
    missing = tmp_path / "elsewhere.pt"
    assert main(["doctor", "--vision_tower", f"open_clip:{arch}@{missing}"]) == 1
    lines = report_lines(capsys.readouterr().out)
    assert (f"[PROBLEM] vision tower: vision tower weights {missing} not found. Put the open_clip checkpoint of "
            "sf-tiny-vit there, or point --vision_tower at the file you downloaded.") in lines
    assert main(["doctor", "--vision_tower", f"open_clip:{arch}@{weights}"]) == 0
    lines = report_lines(capsys.readouterr().out)
    assert any(line.startswith(f"[ok]      vision tower: open_clip:{arch}@{weights}: weights present at {weights}")
               for line in lines)


def test_json_is_the_only_thing_on_stdout_in_a_fresh_process():
    """Libraries that print at import (DeepSpeed's accelerator line with LLaVA's torch 2.1.2) go to stderr,
    so stdout parses as one JSON document whatever the lane."""
    result = subprocess.run([sys.executable, "-m", "socialfusion_plugin.cli.main", "doctor", "--json"],
                            capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    report = json.loads(result.stdout)
    assert report["exit_code"] == result.returncode
    assert [f["check"] for f in report["findings"]][:len(CHECKED)] == [f"version {p}" for p in CHECKED]
