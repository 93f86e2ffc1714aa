"""How installed versions become findings: known breaks and undeclared versions are problems, versions
CI never ran are warnings ("untested") unless --strict, and the tested ranges come from the lanes' files.

Every test injects the installed versions it needs (a fake metadata lookup), so nothing here depends on
what the registry serves on the day the suite runs."""
import pytest
from packaging.specifiers import SpecifierSet

from socialfusion_plugin.doctor.findings import INFO, OK, PROBLEM, WARNING, exit_code
from socialfusion_plugin.doctor.version_checks import (CHECKED, break_rules, check_package, check_versions,
                                                       ci_ranges, declared_ranges)
from socialfusion_plugin.host.llava.environment.versions import check_peft_version, check_transformers_version, HostEnvironmentError
from socialfusion_plugin.host.llava.llava_host import LLAVA

# A fixed world for the rules, independent of the lane files' versions of the day.
TESTED = {"filelock": ("3.12.0", "4.3.1"), "accelerate": ("0.21.0", "0.34.2"), "torch": ("2.1.2", "2.13.0"),
          "transformers": ("4.37.2", "4.37.2"), "peft": ("0.13.2", "0.13.2"), "open_clip_torch": ("2.32.0", "2.32.0"),
          "timm": ("0.6.13", "1.0.31"), "pyarrow": ("25.0.1", "25.0.1"), "numpy": ("1.26.4", "2.4.6"),
          "deepspeed": ("0.12.6", "0.19.8")}
DECLARED = {"filelock": SpecifierSet(">=3.12.0"), "accelerate": SpecifierSet(">=0.21.0,<1.0"),
            "torch": SpecifierSet(">=2.1.2"), "transformers": SpecifierSet(">=4.37.2,<4.38"),
            "peft": SpecifierSet(">=0.13.2,<0.14"), "open-clip-torch": SpecifierSet(">=2.32.0,<3"),
            "pyarrow": SpecifierSet(">=25.0.1,<26"), "numpy": SpecifierSet(">=1.26.4"),
            "deepspeed": SpecifierSet(">=0.12.6")}


def environment(**versions):
    """A version lookup: every package at its highest tested version, with some replaced (None = missing)."""
    installed = {name: high for name, (low, high) in TESTED.items()}
    installed.update(versions)
    return installed.get


def check(package, strict=False, **versions):
    return check_package(package, break_rules(LLAVA), environment(**versions), strict=strict, tested=TESTED,
                         declared=DECLARED)


def host_message(check_version, version):
    with pytest.raises(HostEnvironmentError) as err:
        check_version(version)
    return str(err.value)


def test_a_version_inside_what_ci_ran_is_ok():
    assert [f.line() for f in check("torch")] == ["[ok]      version torch: 2.13.0 (tested 2.1.2 .. 2.13.0)"]
    assert [f.level for f in check("torch", torch="2.13.0+cpu")] == [OK]  # a local build tag: its public version


def test_a_utility_released_inside_its_range_is_one_warning_and_exit_0():
    findings = check("filelock", filelock="4.3.2")
    assert [f.line() for f in findings] == [
        "[warning] version filelock: 4.3.2 is untested: CI ran 3.12.0 .. 4.3.1; inside the declared range and not "
        "known to break"]
    assert exit_code(findings) == 0


def test_strict_makes_untested_a_problem_with_the_tested_install():
    findings = check("filelock", strict=True, filelock="4.3.2")
    assert [f.line() for f in findings] == [
        "[PROBLEM] version filelock: 4.3.2 is untested: CI ran 3.12.0 .. 4.3.1 (--strict): install a tested "
        "version (`pip install \"filelock>=3.12.0,<=4.3.1\"`)"]
    assert exit_code(findings) == 1


def test_outside_the_declared_range_is_a_problem_naming_the_range():
    findings = check("accelerate", accelerate="1.2.0")
    assert [f.line() for f in findings] == [
        "[PROBLEM] version accelerate: 1.2.0 is outside the range the plugin declares (accelerate<1.0,>=0.21.0): "
        "`pip install \"accelerate<1.0,>=0.21.0\"` (CI ran 0.21.0 .. 0.34.2)"]
    assert exit_code(findings) == 1
    assert [f.level for f in check("torch", torch="2.0.1")] == [PROBLEM]  # below the floor


@pytest.mark.parametrize("package, versions, expected", [
    ("transformers", {"transformers": "4.45.0"}, host_message(check_transformers_version, "4.45.0")),
    ("transformers", {"transformers": "4.36.2"}, host_message(check_transformers_version, "4.36.2")),
    ("peft", {"peft": "0.14.0"}, host_message(check_peft_version, "0.14.0")),
    ("open_clip_torch", {"open_clip_torch": "2.31.0"},
     "open_clip_torch 2.31.0 has no VisionTransformer.forward_intermediates (added in 2.32.0), which the vision "
     "tower uses to select a layer: `pip install open_clip_torch==2.32.0`"),
    ("open_clip_torch", {"open_clip_torch": "3.3.0", "timm": "0.6.13"},
     "open_clip_torch 3.3.0 requires timm>=1.0.17 but timm 0.6.13 is installed (LLaVA pins 0.6.13): "
     "`pip install open_clip_torch==2.32.0`, which works with LLaVA's timm"),
    ("pyarrow", {"pyarrow": "26.0.1", "numpy": "1.26.4"},
     "pyarrow 26.0.1 refuses numpy<2 at import and numpy 1.26.4 is installed (LLaVA's gradio 4.16 pins numpy 1.x), "
     "so `datasets` and transformers' trainer cannot import: `pip install pyarrow==25.0.1`"),
])
def test_known_breaking_versions_are_problems_with_the_reason_and_the_fix(package, versions, expected):
    findings = check(package, **versions)
    assert [(f.level, f.message) for f in findings] == [(PROBLEM, expected)]
    assert exit_code(findings) == 1


def test_transformers_messages_are_the_ones_training_gives():
    message = check("transformers", transformers="4.45.0")[0].message
    assert "LLaVA's generate() fails with it" in message and "pip install transformers==4.37.2" in message


def test_a_break_that_needs_a_second_package_is_only_outside_the_declared_range_without_it():
    # pyarrow 26 with numpy 2 is not the known break; it is above the declared cap (<26), a problem of its own
    findings = check("pyarrow", pyarrow="26.0.1", numpy="2.4.6")
    assert [f.level for f in findings] == [PROBLEM] and "outside the range the plugin declares" in findings[0].message
    # timm is not declared by the plugin (open_clip's dependency): a newer one is only untested
    findings = check("timm", timm="1.0.32")
    assert [(f.level, f.message) for f in findings] == [
        (WARNING, "1.0.32 is untested: CI ran 0.6.13 .. 1.0.31; inside the declared range and not known to break")]


def test_a_missing_required_package_is_a_problem_and_a_missing_deepspeed_is_info():
    torch = check("torch", torch=None)
    assert [(f.level, f.message) for f in torch] == [
        (PROBLEM, "not installed: `pip install torch==2.13.0` (CI ran 2.1.2 .. 2.13.0)")]
    deepspeed = check("deepspeed", deepspeed=None)
    assert deepspeed[0].level == INFO and deepspeed[0].message.startswith("not installed; needed only for --deepspeed")


def test_the_lanes_highest_versions_are_all_ok_with_the_shipped_files():
    """With the real tested ranges and declared ranges, the project lane's locked versions give no
    finding above ok: the lane files and pyproject.toml agree."""
    ranges = ci_ranges()
    assert set(ranges) == set(CHECKED), "every checked package is pinned by some lane file"
    lookup = {name: high for name, (low, high) in ranges.items()}.get
    findings = check_versions(LLAVA, lookup)
    assert [f.level for f in findings] == [OK] * len(CHECKED), [f.line() for f in findings if f.level != OK]
    lowest = {name: low for name, (low, high) in ranges.items()}.get
    assert {f.level for f in check_versions(LLAVA, lowest)} == {OK}


def test_the_declared_ranges_are_the_plugins_metadata():
    declared = declared_ranges()
    assert str(declared["transformers"]) == str(SpecifierSet(">=4.37.2,<4.38"))
    assert "deepspeed" in declared  # the [train] extra counts
