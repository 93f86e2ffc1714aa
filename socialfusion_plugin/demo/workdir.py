"""The demo's working folder: the demo writes only into a folder it created, and removes only what
it wrote there.

- A folder that does not exist, or an empty one, becomes the demo's: it gets a marker file
  (MARKER) saying so.
- A folder with the marker is the demo's own from an earlier run. The demo removes, by name, the
  outputs of that run that would otherwise be reused or left stale (the run folders, which the
  launcher would resume from; the diagnostics) and says which; everything else in it is rewritten
  in place (data, converted splits, mixture) or reused on purpose (tiny models, caches). Anything
  else a user put there is left alone.
- Any other non-empty folder (or a file) is refused before anything is written: it may hold a user's
  runs, adapters or data under the very names the demo writes.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from ..errors import UserInputError

MARKER = ".socialfusion-demo"
MARKER_TEXT = ("This folder was created by `socialfusion demo`. When the demo runs here again, it removes "
               "its own earlier runs (runs/llava-tiny-*-lora, runs/llava-tiny-connector-pretrain) and diagnostics "
               "(diagnose/probe, diagnose/conflict) and rewrites its other outputs.\n")


class DemoWorkdirError(UserInputError):
    """A --workdir the demo may not write into; the message names it and says why."""


def run_dir(workdir: Path, name: str) -> Path:
    """runs/llava-tiny-<name>: "socialfusion-lora" (joint), "untrained-lora", "<task>-lora" (single-task),
    "connector-pretrain" (stage 1: the connector trained alone, mm_projector.bin / .safetensors)."""
    return Path(workdir) / "runs" / f"llava-tiny-{name}"


def claim_workdir(workdir: Path, tasks, echo: Callable[[str], None] = print) -> Path:
    """Make `workdir` the demo's (see the module docstring); returns it resolved."""
    workdir = Path(workdir).resolve()
    marker = workdir / MARKER
    if workdir.exists() and not workdir.is_dir():
        raise DemoWorkdirError(f"--workdir {workdir} is a file, not a folder; choose a new or empty folder")
    if marker.is_file():
        names = ["connector-pretrain", "socialfusion-lora", "untrained-lora", *(f"{task}-lora" for task in tasks)]
        candidates = [*(run_dir(workdir, name) for name in names), workdir / "diagnose" / "probe",
                      workdir / "diagnose" / "conflict"]
        stale = [path for path in candidates if path.exists() or path.is_symlink()]
        if stale:
            echo(f"      reusing the demo's own folder {workdir} ({MARKER} is there); removing its earlier outputs: "
                 + ", ".join(str(path.relative_to(workdir)) for path in stale))
        for path in stale:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        return workdir
    if workdir.is_dir() and any(workdir.iterdir()):
        raise DemoWorkdirError(
            f"--workdir {workdir} is not empty and was not created by the demo (it has no {MARKER} file); the demo "
            "writes runs/, converted/, data/ and more there and would overwrite or remove what is in them. "
            "Choose a new or empty folder (a demo folder from an older version: remove it yourself)")
    workdir.mkdir(parents=True, exist_ok=True)
    marker.write_text(MARKER_TEXT, encoding="utf-8")
    return workdir
