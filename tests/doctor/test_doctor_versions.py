"""The tested-versions table against CI's constraint files, and how versions become findings."""
import re
from pathlib import Path

import pytest

from socialfusion_plugin.doctor.findings import INFO, OK, PROBLEM, WARNING, exit_code
from socialfusion_plugin.doctor.tested_versions import TESTED
from socialfusion_plugin.doctor.version_checks import check_package, check_versions
from socialfusion_plugin.host.versions import check_peft_version, check_transformers_version, HostEnvironmentError

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def pins(name):
    found = {}
    for line in (CONSTRAINTS / name).read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def table():
    return {name.lower().replace("_", "-"): versions for name, versions in TESTED.items()}


def test_the_project_lane_pins_lie_in_the_tested_ranges():
    from packaging.version import Version

    project = pins("cpu.txt")
    assert set(project) <= set(table()), "every pin of the project lane is a host package the doctor checks"
    for name, version in project.items():
        low, high = table()[name]
        assert Version(low) <= Version(version) <= Version(high), (name, version, low, high)
    # the newest-allowed lane resolves what the project lane pins
    assert {name: table()[name][1] for name in project} == project
    assert project["open-clip-torch"] == "2.32.0" and project["pyarrow"] == "25.0.1"


def test_lowest_tested_versions_are_the_llava_lane_pins():
    llava = {name: version for name, version in pins("llava-c121f04.txt").items() if name in table()}
    assert set(llava) == {"torch", "torchvision", "transformers", "tokenizers", "sentencepiece", "accelerate",
                          "scikit-learn", "timm", "deepspeed"}
    assert {name: table()[name][0] for name in llava} == llava


def test_lowest_tested_versions_of_unpinned_libraries_are_the_lane_floors():
    floors = {name: version for name, version in pins("llava-lane-floors.txt").items() if name != "ninja"}
    assert set(floors) == {"pillow", "pyyaml", "tqdm", "scipy", "matplotlib", "filelock"}
    assert {name: table()[name][0] for name in floors} == floors


def environment(**versions):
    """A version lookup: the project lane's highest tested versions, with some replaced (None = missing)."""
    installed = {name: high for name, (low, high) in TESTED.items()}
    installed.update(versions)
    return installed.get


def host_message(check, version):
    with pytest.raises(HostEnvironmentError) as err:
        check(version)
    return str(err.value)


def test_every_package_in_its_tested_range_is_ok():
    findings = check_versions(environment())
    assert [f.level for f in findings] == [OK] * len(TESTED)
    assert findings[0].line() == "[ok]      version torch: 2.13.0 (tested 2.1.2 .. 2.13.0)"


def test_a_local_build_tag_is_compared_by_its_public_version():
    assert check_package("torch", environment(torch="2.13.0+cpu"))[0].level == OK


def test_outside_the_tested_range_is_a_problem_naming_the_range_and_what_to_do():
    findings = check_package("accelerate", environment(accelerate="0.35.0"))
    assert [f.line() for f in findings] == [
        "[PROBLEM] version accelerate: 0.35.0 is outside the tested range 0.21.0 .. 0.34.2 (not known to break, "
        "but CI never ran it): install a tested version (`pip install \"accelerate>=0.21.0,<=0.34.2\"`), or run "
        "`socialfusion doctor --allow-untested` to accept it"
    ]
    assert exit_code(findings) == 1


def test_allow_untested_makes_it_a_warning():
    findings = check_package("accelerate", environment(accelerate="0.35.0"), untested=WARNING)
    assert [f.line() for f in findings] == [
        "[warning] version accelerate: 0.35.0 is outside the tested range 0.21.0 .. 0.34.2 (not known to break, "
        "but CI never ran it)"
    ]
    assert exit_code(findings) == 0


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
    findings = check_package(package, environment(**versions))
    assert [(f.level, f.message) for f in findings] == [(PROBLEM, expected)]
    assert exit_code(findings) == 1


def test_transformers_messages_are_the_ones_training_gives():
    message = check_package("transformers", environment(transformers="4.45.0"))[0].message
    assert "LLaVA's generate() fails with it" in message and "pip install transformers==4.37.2" in message


@pytest.mark.parametrize("package, versions", [
    ("open_clip_torch", {"open_clip_torch": "3.3.0", "timm": "1.0.31"}),  # open_clip 3 with the timm it needs
    ("pyarrow", {"pyarrow": "26.0.1", "numpy": "2.4.6"}),  # pyarrow 26 with numpy 2
])
def test_a_break_that_needs_a_second_package_is_only_untested_without_it(package, versions):
    findings = check_package(package, environment(**versions), untested=WARNING)
    assert [f.level for f in findings] == [WARNING] and "outside the tested range" in findings[0].message


def test_a_missing_required_package_is_a_problem_and_a_missing_deepspeed_is_info():
    torch = check_package("torch", environment(torch=None))
    assert [(f.level, f.message) for f in torch] == [
        (PROBLEM, "not installed: `pip install torch==2.1.2` (tested 2.1.2 .. 2.13.0)")]
    deepspeed = check_package("deepspeed", environment(deepspeed=None))
    assert deepspeed[0].level == INFO and deepspeed[0].message.startswith("not installed; needed only for --deepspeed")
