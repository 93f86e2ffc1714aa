"""docs/install-and-lanes.md's table of host versions per CI lane says what the lanes' pins and lock files
install."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def pins(name):
    found = {}
    for line in (REPO / "constraints" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            package, version = line.split("==")
            found[package.strip().lower().replace("-", "_")] = version.strip().split("+")[0]  # 2.13.0+cpu: 2.13.0
    return found


def documented_lane_rows():
    text = (REPO / "docs" / "install-and-lanes.md").read_text()
    table = text.split("**Versions each CI lane tests**", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        # a row may hold several packages: "scipy / matplotlib / filelock | 1.10.0 / 3.7.0 / 3.12.0 (...) | ..."
        names = cells[0].split(" / ")
        columns = [cell.split(" / ") if len(names) > 1 else [cell] for cell in cells[1:3]]
        for i, name in enumerate(names):
            rows[name.lower().replace("-", "_")] = (columns[0][i], columns[1][i])
    return rows


def test_every_pinned_host_package_in_the_table_matches_its_lane():
    rows = documented_lane_rows()
    checked = 0
    for column, pins_file in ((0, "llava-c121f04.txt"), (0, "llava-lane-floors.txt"), (1, "project-lock.txt")):
        for package, version in pins(pins_file).items():
            if package in rows:
                assert re.match(re.escape(version) + r"\b", rows[package][column]), (package, pins_file, rows[package])
                checked += 1
    assert checked >= 30  # the floors, and every row in the project lane's lock, and torch, torchvision, transformers, tokenizers, accelerate, deepspeed, timm, ... in both
