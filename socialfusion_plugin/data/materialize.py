"""`socialfusion mix`: write a mixture as ONE LLaVA JSON that stock LLaVA scripts can train on,
plus a manifest (counts per source, seed, input fingerprints).

Images from several dataset roots cannot share one relative base unless the user has one, so
paths are absolute by default (LLaVA's `os.path.join(image_folder, image)` returns an absolute
`image` unchanged, whatever --image_folder is). With `image_root`, paths are written relative to
it instead (portable across machines that mount the data elsewhere); an image outside it is an error.
Same recipe + inputs + seed -> byte-identical JSON and manifest (no timestamps, fixed key order).
Both files are written atomically (atomic_files): a concurrent or interrupted run never leaves
half a file under either name; `mix` holds the output's one-writer lock for the whole run.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from ..atomic_files import atomic_json_list, atomic_write_json, sole_writer
from ..progress import progress_bar
from .mixture import Mixture
from socialfusion_plugin.errors import UserInputError

_ENCODER = json.JSONEncoder(ensure_ascii=False)


class MixtureOutputBusy(UserInputError):
    """Another `mix` is writing the same output."""


def sole_mixture_writer(out: Path):
    """`<out>.lock` held for a whole `mix` run (the one-writer lock `eval --out` takes too), so two
    runs into one output cannot both report success while one silently replaces the other."""
    out = Path(out)
    return sole_writer(out, lambda lock: MixtureOutputBusy(
        f"{out}: another process is writing this mixture (it holds {lock}); wait for it to finish, "
        "or write to another --out"))


def write_mixture(mixture: Mixture, out: Path, image_root: Optional[Path] = None,
                  manifest_path: Optional[Path] = None, progress: bool = True) -> Path:
    out = Path(out)
    root = os.path.abspath(image_root) if image_root is not None else None
    if root is not None and not os.path.isdir(root):
        raise FileNotFoundError(f"--image-root {root} does not exist or is not a folder")
    bar = progress_bar(enabled=progress, total=len(mixture), description=f"mix -> {out.name}", unit=" records")
    try:
        with atomic_json_list(out) as write:
            for index in range(len(mixture)):
                record = mixture.record(index)
                if root is not None and "image" in record:
                    record["image"] = _relative_to_root(record["image"], root, mixture.source_name(index), record)
                write(_ENCODER.encode(record))
                bar.update(1)
    finally:
        bar.close()
    manifest = dict(mixture.manifest(), output=out.name,
                    image_paths=f"relative to {root}" if root is not None else "absolute")
    manifest_path = Path(manifest_path) if manifest_path is not None else out.with_name(out.stem + ".manifest.json")
    atomic_write_json(manifest_path, manifest, ensure_ascii=False)
    return manifest_path


def _relative_to_root(image: str, root: str, source: str, record) -> str:
    relative = os.path.relpath(image, root)
    if relative == ".." or relative.startswith(".." + os.sep):
        raise UserInputError(f"source {source}, record {record.get('id')!r}: image {image} is not under --image-root "
                         f"{root}; choose a folder that contains every source's images, or omit --image-root "
                         "for absolute paths")
    return relative.replace(os.sep, "/")
