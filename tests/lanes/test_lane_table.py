"""The README's table of host versions per CI lane says what the lanes' pins files install."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def pins(name):
    found = {}
    for line in (REPO / "constraints" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            package, version = line.split("==")
            found[package.strip().lower().replace("-", "_")] = version.strip()
    return found


def readme_lane_rows():
    text = (REPO / "README.md").read_text()
    table = text.split("**Host versions each CI lane tests**", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].lower().replace("-", "_")] = (cells[1], cells[2])
    return rows


def test_every_pinned_host_package_in_the_table_matches_its_lane():
    rows = readme_lane_rows()
    checked = 0
    for column, pins_file in ((0, "llava-c121f04.txt"), (1, "cpu.txt")):
        for package, version in pins(pins_file).items():
            if package in rows:
                assert re.match(re.escape(version) + r"\b", rows[package][column]), (package, pins_file, rows[package])
                checked += 1
    assert checked >= 14  # torch, torchvision, transformers, tokenizers, accelerate, deepspeed, timm, ... in both
