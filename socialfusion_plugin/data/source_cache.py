"""Every mixture source as a memory-mapped Arrow table, built once and keyed by input fingerprints.

- A task source is converted with `tasks.conversion.convert` (its report is kept next to the cache),
  then stored as Arrow. A re-run with the same release, options, prompts and seed skips both steps.
  The release is fingerprinted through symlinked folders (datasets are often assembled from links),
  so a file added, removed or rewritten behind a link is a new release.
- A LLaVA JSON source (e.g. the 665K-record mix665k) is streamed into Arrow once; afterwards every
  training process memory-maps it instead of `json.load`ing GBs of Python objects.

Arrow tables are written and loaded by Hugging Face `datasets` (`Dataset.from_generator` with an
explicit fingerprint): it memory-maps the file and holds a file lock while a cache entry is built,
so the ranks of a multi-GPU job that start together build each entry once.
Columns: `record` (the record as JSON text), `has_image`, `words` (LLaVA's length proxy: the
whitespace-separated words of all turns).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from ..cache_root import cache_dir
from ..json_records import iter_json_list
from .recipe import SourceSpec
from socialfusion_plugin.errors import UserInputError

CACHE_FORMAT = 1  # bump when the cached layout or the conversion of records changes
RECORD_ENCODER = json.JSONEncoder(ensure_ascii=False)  # a record as one JSON text, non-ASCII kept as is


def default_cache_dir() -> Path:
    return cache_dir("data")


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def combine(parts: Mapping[str, Any]) -> str:
    """One cache key from named inputs, so a changed input is never served from a stale cache."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


@dataclass
class CachedSource:
    spec: SourceSpec
    fingerprint: str
    table: Any  # datasets.Dataset with columns record/has_image/words (memory-mapped)
    conversion: Optional[Dict[str, Any]] = None  # the conversion report's counts (task sources)

    def __len__(self) -> int:
        return len(self.table)


def load_source(spec: SourceSpec, seed: int, cache_dir: Optional[Path] = None, progress: bool = True,
                workers: int = 1) -> CachedSource:
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    if not progress:
        datasets.disable_progress_bars()
    try:
        if spec.kind == "task":
            return _load_task_source(spec, seed, cache_dir, progress, workers)
        return _load_json_source(spec, cache_dir)
    finally:
        if was_enabled and not progress:
            datasets.enable_progress_bars()


def _load_json_source(spec: SourceSpec, cache_dir: Path) -> CachedSource:
    # a file broken at its start is reported before the whole of it is hashed for the cache key
    with contextlib.closing(iter_json_list(spec.path)) as records:
        next(records, None)
    fingerprint = combine({"format": CACHE_FORMAT, "kind": "json", "sha256": file_sha256(spec.path)})
    return CachedSource(spec, fingerprint, _arrow_table(cache_dir, fingerprint, spec.path))


def task_fingerprint(spec: SourceSpec, seed: int) -> str:
    from .. import __version__
    from ..registry import TASKS
    from ..tasks.conversion import default_prompt_mode

    task = TASKS.get(spec.task)
    return combine(dict(format=CACHE_FORMAT, kind="task", plugin=__version__, task=spec.task, split=spec.split,
                        options=dataclasses.asdict(task.options(spec.options)),
                        prompts=spec.prompts or default_prompt_mode(spec.split),
                        prompt_file=file_sha256(task.prompts_file), seed=seed, release=release_fingerprint(spec.path)))


def release_fingerprint(root: Path) -> str:
    """Every file under `root` by (relative path, size, mtime), following symlinked folders: an
    added, removed or rewritten annotation or image changes it, also behind a link. Stats, not
    contents: a release holds up to a million images, and hashing their bytes would cost more
    than converting them. A tree without symlinked folders gets the digest caches were keyed by
    before links were followed; a linked folder adds its target, so re-pointing a link counts,
    and a link to the folder it is in, or to one above, is recorded, not followed (no endless loop)."""
    digest = hashlib.sha256()
    root = Path(root)
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders.sort()
        relative_folder = os.path.relpath(folder, root)
        real_folder = os.path.realpath(folder)
        for name in list(subfolders):
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                continue
            target = os.path.realpath(path)
            cycle = real_folder == target or real_folder.startswith(target.rstrip(os.sep) + os.sep)
            digest.update(f"{relative_folder}/{name}\0link\0{target}{' (cycle)' if cycle else ''}\n"
                          .encode("utf-8", "surrogateescape"))
            if cycle:
                subfolders.remove(name)
        for name in sorted(files):
            try:
                stat = os.stat(os.path.join(folder, name))
            except OSError:  # a dangling link: record that it is there, unreadable
                digest.update(f"{relative_folder}/{name}\0missing\n".encode("utf-8", "surrogateescape"))
                continue
            digest.update(f"{relative_folder}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
                          .encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _load_task_source(spec: SourceSpec, seed: int, cache_dir: Path, progress: bool, workers: int) -> CachedSource:
    from ..atomic_files import sole_writer
    from ..registry import TASKS
    from ..tasks.conversion import convert

    fingerprint = task_fingerprint(spec, seed)
    entry = cache_dir / "converted" / f"{spec.task}-{spec.split}-{fingerprint[:20]}"
    report_path = entry / "report.json"
    entry.parent.mkdir(parents=True, exist_ok=True)
    with sole_writer(entry, busy=None):  # another process building this entry: wait, then read it
        if not report_path.is_file():
            staging = entry.with_name(entry.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            convert(TASKS.get(spec.task), root=spec.path, split=spec.split, out=staging / "records.json",
                    options=spec.options, report_path=staging / "report.json", prompt_mode=spec.prompts,
                    seed=seed, progress=progress, workers=workers)
            _arrow_table(cache_dir, fingerprint, staging / "records.json")
            (staging / "records.json").unlink()  # the Arrow table holds the records now
            shutil.rmtree(entry, ignore_errors=True)
            os.replace(staging, entry)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    counts = {key: report[key] for key in ("read", "converted", "skipped", "skip_reasons")}
    return CachedSource(spec, fingerprint, _arrow_table(cache_dir, fingerprint, None), conversion=counts)


def _arrow_table(cache_dir: Path, fingerprint: str, json_path: Optional[Path]):
    """The Arrow table of `fingerprint`, built from `json_path` when it is not cached yet."""
    import datasets

    features = datasets.Features({
        "record": datasets.Value("string"),
        "has_image": datasets.Value("bool"),
        "words": datasets.Value("int32"),
    })
    # gen_kwargs take no part in the cache key: `fingerprint` alone decides a hit
    try:
        return datasets.Dataset.from_generator(_rows, features=features, split="train", fingerprint=fingerprint,
                                               gen_kwargs={"path": str(json_path) if json_path else ""},
                                               cache_dir=str(cache_dir / "arrow"))
    except datasets.exceptions.DatasetGenerationError as err:
        # datasets wraps our own clear errors (naming the file and record): show them, not the wrapper
        if isinstance(err.__cause__, (ValueError, RuntimeError)):
            raise err.__cause__ from None
        raise


def _rows(path: str):
    if not path:
        raise RuntimeError("internal: an Arrow cache entry is missing although its conversion report exists; "
                           "delete the cache folder and run again")
    for index, record in iter_json_list(Path(path)):
        if not isinstance(record, dict):
            raise UserInputError(f"{path}: record {index} is a {type(record).__name__}, not a LLaVA record (an object)")
        yield {"record": RECORD_ENCODER.encode(record), "has_image": "image" in record, "words": count_words(record)}


def count_words(record: Dict[str, Any]) -> int:
    """LLaVA's length proxy (LazySupervisedDataset.lengths): words over all turns. Malformed turns
    count 0 here; `socialfusion validate` reports them."""
    turns = record.get("conversations")
    if not isinstance(turns, list):
        return 0
    values = [turn.get("value") for turn in turns if isinstance(turn, dict)]
    return sum(len(value.split()) for value in values if isinstance(value, str))
