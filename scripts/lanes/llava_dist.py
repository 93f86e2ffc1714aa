"""Builds LLaVA's code as the distribution `llava` with the requirements of its source checkout.

CI cannot reach GitHub, so the LLaVA lane takes LLaVA's code from the registry's llava-torch
1.2.2.post1 wheel (the same training, model and eval code as the source at c121f04) and gives it
the metadata a source checkout has: name `llava`, and as requirements the lines of the lane's pins
file (LLaVA's pyproject.toml at c121f04), base and `train` extra. `pip check` then judges the
plugin against the pins LLaVA users really have, not the wheel's older ones (torch 2.0.1, ...).

Usage: python llava_dist.py PINS_FILE WHEEL OUT_DIR   (then `pip install OUT_DIR`)
"""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path


def read_sections(pins: Path) -> dict:
    sections = {}
    current = None
    for raw in pins.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("# [") and line.endswith("]"):
            current = sections.setdefault(line[3:-1], [])
        elif line and not line.startswith("#"):
            if current is None:
                raise SystemExit(f"{pins}: requirement {line!r} before any '# [section]' line")
            current.append(line)
    if "base" not in sections:
        raise SystemExit(f"{pins}: no '# [base]' section")
    return sections


def main(pins: str, wheel: str, out_dir: str) -> None:
    sections = read_sections(Path(pins))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=False)
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.startswith("llava/")]
        if not members:
            raise SystemExit(f"{wheel}: no llava/ package inside")
        archive.extractall(out, members)
    extras = {name: reqs for name, reqs in sections.items() if name != "base"}
    pyproject = [
        "[build-system]", 'requires = ["setuptools>=61"]', 'build-backend = "setuptools.build_meta"', "",
        "[project]", 'name = "llava"', 'version = "1.2.2.post1"',
        f"dependencies = {json.dumps(sections['base'])}", "",
        "[project.optional-dependencies]",
        *(f"{name} = {json.dumps(reqs)}" for name, reqs in extras.items()), "",
        "[tool.setuptools.packages.find]", 'include = ["llava*"]', "",
    ]
    (out / "pyproject.toml").write_text("\n".join(pyproject), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
