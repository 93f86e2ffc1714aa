"""A data recipe made concrete: which record of which source sits at each position of the mixture.

The mixture is a pure function of the recipe, its inputs and its seed: every rank of a job and
every restart computes the same order, and `socialfusion mix` writes it out byte for byte.
- strategies (`all`, `first:N`, `random:N`, `N%`) give a source a fixed number of records;
- weighted sources share a pool of as many records as they hold together, in proportions
  p_i ~ weight_i * n_i^(1/T) (T = `temperature`, 1 = natural sizes; larger T flattens towards
  equal shares, so small tasks are upsampled and large ones downsampled);
- one seeded permutation then interleaves all sources; `max_samples` keeps its first N.
Every random step uses a numpy Generator seeded from (recipe seed, step name), so adding a source
does not change what another source draws.

`socialfusion mix` writes the mixture as ONE LLaVA JSON that stock LLaVA scripts can train on, plus a
manifest (counts per source, seed, input fingerprints), byte-identical for the same recipe, inputs and
seed (no timestamps, fixed key order). Image paths are absolute by default, as several dataset roots
share no relative base (LLaVA's `os.path.join(image_folder, image)` keeps an absolute `image`); with
`image_root` they are relative to it (portable across machines), and an image outside it is an error.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from ..atomic_files import atomic_json_list, atomic_write_json, sole_writer
from ..json_records import check_input_file
from ..progress import progress_bar
from ..tasks.paths import safe_relative_path
from .recipe import DataRecipe, RecipeError, SourceSpec, Strategy
from .source_cache import RECORD_ENCODER, CachedSource, load_source
from socialfusion_plugin.errors import UserInputError


def derive_seed(seed: int, label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{label}".encode("utf-8")).digest()[:8], "little")


def select_rows(strategy: Strategy, available: int, rng: np.random.Generator, where: str) -> List[int]:
    """Row indices (into the source) that the strategy selects, in source order for `first`/`all`,
    seeded random order otherwise."""
    if strategy.kind == "all":
        return list(range(available))
    if strategy.kind == "percent":
        return draw_count(int(round(available * strategy.amount / 100.0)), available, rng)
    wanted = int(strategy.amount)
    if wanted > available:
        hint = "; use a percentage above 100% or a weight to upsample" if strategy.kind == "random" else ""
        raise RecipeError(f"{where}: {strategy} asks for more records than the source has ({available}){hint}")
    if strategy.kind == "first":
        return list(range(wanted))
    return sorted(rng.choice(available, size=wanted, replace=False).tolist())


def draw_count(count: int, available: int, rng: np.random.Generator) -> List[int]:
    """`count` rows from `available`: whole passes over the source, then a seeded sample without
    replacement for the remainder (so upsampling repeats every record equally often, +-1)."""
    if available == 0:
        return []
    whole, remainder = divmod(count, available)
    return list(range(available)) * whole + sorted(rng.choice(available, size=remainder, replace=False).tolist())


def weighted_counts(sizes: List[int], weights: List[float], temperature: float, where: str = "") -> List[int]:
    """Records per weighted source: the pool (sum of sizes) split by p_i ~ w_i * n_i^(1/T), rounded
    by largest remainder so the counts add up to the pool exactly (ties go to the earlier source).
    A temperature so close to 0 that n^(1/T) overflows a float is a RecipeError naming `where`."""
    pool = sum(sizes)
    if pool == 0:
        return [0] * len(sizes)
    try:
        scores = np.array([w * (n ** (1.0 / temperature)) if n > 0 else 0.0 for n, w in zip(sizes, weights)])
        total = scores.sum()
    except (OverflowError, ZeroDivisionError):
        total = np.inf
    if not (np.isfinite(total) and total > 0):
        raise RecipeError(_temperature_message(sizes, weights, temperature, where))
    shares = scores / total * pool
    counts = np.floor(shares).astype(np.int64)
    order = sorted(range(len(sizes)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[: pool - int(counts.sum())]:
        counts[i] += 1
    return counts.tolist()


def _temperature_message(sizes: List[int], weights: List[float], temperature: float, where: str) -> str:
    prefix = f"{where}: " if where else ""
    message = (f"{prefix}'temperature' {temperature:g} with weights up to {max(weights):g} cannot balance "
               f"sources of up to {max(sizes):,} records: weight x n^(1/T) is beyond a float")
    if max(weights) > 1e200:
        return message + "; use smaller weights (only their ratios matter)"
    # w * n^(1/T) stays below ~1e300 for T >= ln(n) / (ln(1e300) - ln(w)) for every source
    bounds = [math.log(n) / (math.log(1e300) - math.log(w)) for n, w in zip(sizes, weights) if n > 1]
    return message + (f"; use a temperature of at least {max(bounds) * 1.01:.3g}" if bounds else "")


@dataclass
class SourcePlan:
    cached: CachedSource
    rows: List[int]

    def summary(self) -> Dict[str, Any]:
        spec = self.cached.spec
        entry = dict(name=spec.name, kind=spec.kind, input=str(spec.path), image_folder=str(spec.image_folder),
                     fingerprint=self.cached.fingerprint, available=len(self.cached), selected=len(self.rows))
        if spec.kind == "task":
            entry.update(task=spec.task, split=spec.split, options=spec.options, prompts=spec.prompts,
                         conversion=self.cached.conversion)
        entry["weight" if spec.weight is not None else "sample"] = (
            spec.weight if spec.weight is not None else str(spec.strategy))
        return entry


class Mixture:
    """Random access to the mixed records; images come back as absolute paths of their source."""

    def __init__(self, recipe: DataRecipe, plans: List[SourcePlan], order_source: np.ndarray, order_row: np.ndarray):
        self.recipe, self.plans, self.order_source, self.order_row = recipe, plans, order_source, order_row
        tables = [plan.cached.table.data.table for plan in plans]
        self._records = [table.column("record") for table in tables]
        # one flat index over all sources' rows: a vectorized gather instead of a Python loop
        offsets = np.cumsum([0] + [len(table) for table in tables[:-1]]).astype(np.int64)
        flat = offsets[order_source] + order_row
        self.has_image = np.concatenate(
            [table.column("has_image").to_numpy(zero_copy_only=False) for table in tables]).astype(bool)[flat]
        self.words = np.concatenate([table.column("words").to_numpy() for table in tables]).astype(np.int64)[flat]

    def __len__(self) -> int:
        return len(self.order_row)

    def source_name(self, index: int) -> str:
        return self.plans[self.order_source[index]].cached.spec.name

    def raw_text(self, index: int) -> str:
        return self._records[self.order_source[index]][int(self.order_row[index])].as_py()

    def record(self, index: int) -> Dict[str, Any]:
        plan = self.plans[self.order_source[index]]
        record = json.loads(self.raw_text(index))
        if "image" in record:
            record["image"] = resolve_image(plan.cached.spec, record["image"], int(self.order_row[index]), record)
        return record

    def counts(self) -> Dict[str, int]:
        names = [plan.cached.spec.name for plan in self.plans]
        return dict(zip(names, np.bincount(self.order_source, minlength=len(names)).tolist()))

    def manifest(self) -> Dict[str, Any]:
        counts = self.counts()  # after max_samples
        sources = [dict(plan.summary(), in_mixture=counts[plan.cached.spec.name]) for plan in self.plans]
        return dict(recipe=str(self.recipe.path), recipe_sha256=self.recipe.sha256, seed=self.recipe.seed,
                    temperature=self.recipe.temperature, max_samples=self.recipe.max_samples, total=len(self),
                    sources=sources)


def resolve_image(spec, image: Any, row: int, record: Dict[str, Any]) -> str:
    """The absolute path of a record's image. Paths must stay inside the source's image folder."""
    where = f"{spec.path} record {record.get('id', row)!r}"
    if not isinstance(image, str):
        raise UserInputError(f"{where}: 'image' must be one path string, got {type(image).__name__}")
    if spec.absolute_images and os.path.isabs(image):
        return os.path.normpath(image)
    return os.path.join(str(spec.image_folder), safe_relative_path(spec.image_folder, image, where))


def build_mixture(recipe: DataRecipe, cache_dir: Optional[Path] = None, progress: bool = True,
                  workers: int = 1) -> Mixture:
    cached = [load_source(spec, recipe.seed, cache_dir, progress, workers) for spec in recipe.sources]
    weighted = [i for i, source in enumerate(cached) if source.spec.weight is not None]
    sizes, weights = [len(cached[i]) for i in weighted], [cached[i].spec.weight for i in weighted]
    counts = dict(zip(weighted, weighted_counts(sizes, weights, recipe.temperature or 1.0, str(recipe.path))))
    plans = []
    for i, source in enumerate(cached):
        rng = np.random.default_rng(derive_seed(recipe.seed, f"source/{source.spec.name}"))
        rows = (draw_count(counts[i], len(source), rng) if i in counts
                else select_rows(source.spec.strategy, len(source), rng, f"{recipe.path}: source {source.spec.name}"))
        plans.append(SourcePlan(source, rows))
    order_source = np.concatenate([np.full(len(plan.rows), i, dtype=np.int32) for i, plan in enumerate(plans)])
    order_row = np.concatenate([np.asarray(plan.rows, dtype=np.int64) for plan in plans])
    if len(order_row) == 0:
        raise UserInputError(f"{recipe.path}: the mixture is empty (every source selected 0 records)")
    permutation = np.random.default_rng(derive_seed(recipe.seed, "order")).permutation(len(order_row))
    if recipe.max_samples is not None:
        permutation = permutation[: recipe.max_samples]
    return Mixture(recipe, plans, order_source[permutation], order_row[permutation])


def file_mixture(json_path: Path, image_folder: Path, cache_dir: Optional[Path] = None,
                 progress: bool = True) -> Mixture:
    """One LLaVA JSON + its image folder as a one-source mixture in file order (what `validate
    FILE.json` checks). Relative image paths follow a recipe's json-source rules (inside the image
    folder); absolute ones are taken as they are, as LLaVA takes them (mix writes them by default)."""
    json_path, image_folder = Path(os.path.abspath(json_path)), Path(os.path.abspath(image_folder))
    check_input_file(json_path, "LLaVA JSON")
    if not image_folder.is_dir():
        raise FileNotFoundError(f"--image-folder {image_folder} does not exist or is not a folder")
    spec = SourceSpec(name=json_path.stem, kind="json", path=json_path, image_folder=image_folder,
                      strategy=Strategy("all"), absolute_images=True)
    recipe = DataRecipe(path=json_path, seed=0, sources=[spec])
    cached = load_source(spec, 0, cache_dir, progress)
    rows = list(range(len(cached)))
    return Mixture(recipe, [SourcePlan(cached, rows)], np.zeros(len(rows), dtype=np.int32),
                   np.arange(len(rows), dtype=np.int64))


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
    with bar, atomic_json_list(out) as write:
        for index in range(len(mixture)):
            record = mixture.record(index)
            if root is not None and "image" in record:
                record["image"] = _relative_to_root(record["image"], root, mixture.source_name(index), record)
            write(RECORD_ENCODER.encode(record))
            bar.update(1)
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
