"""`socialfusion doctor` end to end: the real environment, and simulated broken ones."""
import json

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.demo.tiny_assets import build_tiny_tower
from socialfusion_plugin.doctor import import_checks, version_checks
from socialfusion_plugin.doctor.findings import TAGS
from socialfusion_plugin.doctor.tested_versions import TESTED


def report_lines(out):
    """The doctor's lines (the test process may have printed other things to the captured stdout)."""
    return [line for line in out.splitlines() if line.startswith(tuple(TAGS.values())) or " problem(s), " in line]


def with_versions(monkeypatch, **replaced):
    real = version_checks.installed_version
    monkeypatch.setattr(version_checks, "installed_version", lambda name: replaced.get(name, real(name)))


def test_this_environment_has_no_problem_and_exits_0(capsys):
    assert main(["doctor"]) == 0
    lines = report_lines(capsys.readouterr().out)
    for package in TESTED:
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
    assert checks[:len(TESTED)] == [f"version {package}" for package in TESTED]
    assert {"import llava", "import transformers.trainer", "import open_clip", "accelerator"} <= set(checks)
    assert {finding["level"] for finding in report["findings"]} <= {"ok", "info", "warning"}


def test_a_known_breaking_version_exits_1_with_the_message(monkeypatch, capsys):
    with_versions(monkeypatch, peft="0.14.0")
    assert main(["doctor"]) == 1
    lines = report_lines(capsys.readouterr().out)
    assert "[PROBLEM] version peft: peft 0.14.0 does not import with transformers 4.37.x; install `peft==0.13.2`" in lines
    assert lines[-1].startswith("1 problem(s), ")
    assert lines[-1].endswith(": training or evaluation would not run")


def test_a_version_outside_the_tested_range_exits_1_unless_accepted(monkeypatch, capsys):
    with_versions(monkeypatch, timm="1.0.32")
    assert main(["doctor"]) == 1
    lines = report_lines(capsys.readouterr().out)
    assert ("[PROBLEM] version timm: 1.0.32 is outside the tested range 0.6.13 .. 1.0.31 (not known to break, "
            "but CI never ran it): install a tested version (`pip install \"timm>=0.6.13,<=1.0.31\"`), or run "
            "`socialfusion doctor --allow-untested` to accept it") in lines
    assert main(["doctor", "--allow-untested"]) == 0
    lines = report_lines(capsys.readouterr().out)
    assert ("[warning] version timm: 1.0.32 is outside the tested range 0.6.13 .. 1.0.31 "
            "(not known to break, but CI never ran it)") in lines


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
