"""Compares two `pip freeze` files: which installed packages an install moved, added or removed.

Exit status 1 when a package pinned (==) in the pins file changed version, except the names given
with --allow (each with the reason docs/install-and-lanes.md states). Moves of packages the pins leave open (pip
may lower, say, fsspec to a release that `datasets` admits) are listed, not failed: they are not pins.

Usage: python pin_check.py PINS_FILE BEFORE.txt AFTER.txt [--pinned-by WHO] [--allow NAME ...]
(WHO names whose pins the file holds in the messages; default LLaVA)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_freeze(path: Path) -> dict:
    versions = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            versions[canonical(name)] = version
        elif " @ " in line:
            name, where = line.split(" @ ", 1)
            versions[canonical(name)] = "@ " + where
    return versions


def pinned_names(pins: Path) -> set:
    names = set()
    for line in pins.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            names.add(canonical(re.split(r"[\[=<>!~ ]", line, 1)[0]))
    return names


def main(argv) -> int:
    allow = set()
    who = "LLaVA"
    if "--pinned-by" in argv:
        at = argv.index("--pinned-by")
        who = argv[at + 1]
        argv = argv[:at] + argv[at + 2:]
    if "--allow" in argv:
        at = argv.index("--allow")
        allow = {canonical(name) for name in argv[at + 1:]}
        argv = argv[:at]
    pins, before_file, after_file = (Path(a) for a in argv)
    before, after = read_freeze(before_file), read_freeze(after_file)
    pinned = pinned_names(pins)
    moved = {n: (before[n], after.get(n, "removed")) for n in before if after.get(n) != before[n]}
    added = sorted(set(after) - set(before))
    bad = []
    for name, (old, new) in sorted(moved.items()):
        if name in allow:
            verdict = "allowed (see docs/install-and-lanes.md)"
        elif name in pinned:
            verdict = f"NOT ALLOWED: pinned by {who}"
            bad.append(name)
        else:
            verdict = f"not pinned by {who}"
        print(f"pin-check: {name} {old} -> {new}: {verdict}")
    listed = ", ".join(f"{n} {after[n]}" for n in added) or "none"
    print(f"pin-check: added {len(added)} packages: {listed}")
    missing = sorted(pinned - set(before))
    if missing:
        print(f"pin-check: pinned packages not installed before the plugin: {', '.join(missing)}")
        return 1
    if bad:
        print(f"pin-check: FAILED: the install moved {', '.join(bad)}")
        return 1
    print(f"pin-check: ok: none of the {len(pinned)} packages {who} pins moved"
          + (f" (allowed: {', '.join(sorted(allow))})" if allow else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
