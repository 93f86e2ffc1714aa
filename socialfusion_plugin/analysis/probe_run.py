"""`socialfusion probe`: linear-probe decodability of social tasks from frozen encoders.

For every encoder x region mode x task, features of the train and test splits are taken (from the
cache or one extraction pass for all requested layers and poolings), and one probe per
(layer, pooling) is fitted and scored with the task's own metrics. The results are written as JSON
(everything), Markdown (the primary metric, configuration x task) and charts, each a PNG with a PDF
copy: the same table as a heatmap with a colorbar; the primary metric against layer when layers were swept.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch

from .. import registry
from ..model.tower_spec import OpenClipTowerSpec, is_open_clip_tower
from ..plots import heatmap, line_panels, save_figure
from ..progress import progress_bar
from ..run_settings import RunSettings
from .encoders import FeatureEncoder, identify_encoder, load_encoder
from .features import POOLINGS, REGIONS, FeatureCache
from .linear_probes import ProbeSettings, probe_and_score
from .probe_data import load_split, task_files
from socialfusion_plugin.errors import UserInputError


@dataclass(frozen=True, kw_only=True)
class ProbeConfig(RunSettings):
    """One probe run; the fields with help, and those of RunSettings, are `socialfusion probe`'s
    flags (cli/flags.py)."""

    encoders: List[str] = field(metadata={"metavar": "ENCODER", "help": (
        "open_clip:ARCH@WEIGHTS (as --vision_tower); hf_clip:FOLDER or hf_siglip:FOLDER (a local Hugging Face CLIP / "
        "SigLIP folder, or a VLM checkpoint with such a tower); hf_vlm:FOLDER (the vision tower inside a local VLM "
        "checkpoint: LLaVA-1.5-hf, LLaVA-NeXT-hf, LLaVA-OneVision-hf, PaliGemma). Local files only")})
    tasks: List[str] = field(metadata={"metavar": "TASK", "help": "registered task names"})
    out_dir: Path = field(metadata={"flag": "--out", "help": "output folder (probe_results.json/.md, probe_chart.png)"})
    cache_dir: Path  # the feature cache, reused across runs (its flag's default is the plugin's cache root)
    data_root: Optional[Path] = None  # --data-root; None: `overrides` name every task's files
    overrides: Dict[str, Dict[str, Path]] = field(default_factory=dict)  # train/test/image_folder -> task -> path
    layers: List[int] = field(default_factory=lambda: [-2], metadata={"help": (
        "layers, LLaVA/HF indexing: 0 embeddings (HF towers only), k block k, -1 last, -2 second to last (default: -2, "
        "what LLaVA-1.5 reads); several values sweep")})
    poolings: List[str] = field(default_factory=lambda: ["mean"], metadata={
        "flag": "--pooling", "choices": POOLINGS,
        "help": "mean of patch tokens, CLS token, or both concatenated (default: mean); SigLIP towers have no CLS "
                "token: mean only"})
    regions: List[str] = field(default_factory=lambda: ["full"], metadata={
        "flag": "--region", "choices": REGIONS,
        "help": "whole image, or the task's person/head/pair/hands box cropped before preprocessing"})
    max_train: Optional[int] = field(default=None, metadata={"help": "subsample at most N training records (seeded)"})
    max_test: Optional[int] = field(default=None, metadata={"help": "subsample at most N test records (seeded)"})
    workers: int = field(default=4, metadata={"help": "threads decoding images"})
    device: Optional[str] = "cpu"
    dtype: Optional[str] = "float32"
    batch_size: int = 32
    settings: ProbeSettings = field(default_factory=ProbeSettings)
    progress: bool = True

    def __post_init__(self):
        for name in ("encoders", "tasks", "layers", "poolings", "regions"):
            values = getattr(self, name)
            if not values:
                raise UserInputError(f"probe: --{name} needs at least one value")
            if len(set(values)) != len(values):
                raise UserInputError(f"probe: --{name} lists a value twice: {values}")
        for kind, values, known in (("pooling", self.poolings, POOLINGS), ("region", self.regions, REGIONS)):
            for value in values:
                if value not in known:
                    raise UserInputError(f"probe: unknown {kind} {value!r}; choose from {', '.join(known)}")
        for task in self.tasks:
            registry.TASKS.get(task)  # unknown task: error listing the registered ones
        unknown = set(self.overrides) - {"train", "test", "image_folder"}
        if unknown:
            raise UserInputError(f"probe: unknown override kind(s) {sorted(unknown)}")
        super().__post_init__()  # batch size and dtype
        for name in ("max_train", "max_test"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise UserInputError(f"probe: --{name.replace('_', '-')} must be positive")


def run_probe(config: ProbeConfig, encoder_loader: Callable[..., FeatureEncoder] = load_encoder) -> Dict[str, Any]:
    """All results as one JSON-ready dict; `encoder_loader` is replaceable (tests count its calls)."""
    splits = _load_splits(config)
    cache = FeatureCache(config.cache_dir, config.batch_size, config.workers, config.progress)
    keys = [(layer, pooling) for layer in config.layers for pooling in config.poolings]
    results: List[Dict[str, Any]] = []
    fits = progress_bar(enabled=config.progress, description="probe fits", unit=" probes",
                        total=len(config.encoders) * len(config.regions) * len(config.tasks) * len(keys))
    for name in config.encoders:
        identity = identify_encoder(name)
        # built once, and only on a cache miss
        get_encoder = lru_cache(maxsize=None)(partial(encoder_loader, name, device=config.device,
                                                      dtype=getattr(torch, config.dtype)))
        for region in config.regions:
            for task_name in config.tasks:
                task = registry.TASKS.get(task_name)
                train, test = splits[(task_name, region)]
                label = f"{short_encoder_name(name)} {task_name} {region}"
                train_x = cache.features(identity, get_encoder, train.items, keys, region, label + " train")
                test_x = cache.features(identity, get_encoder, test.items, keys, region, label + " test")
                for key in keys:
                    where = f"task {task_name} ({train.file})"
                    score = probe_and_score(task, train_x[key], train.targets, test_x[key], test.records,
                                            config.settings, where)
                    results.append(_row(name, identity.encoder_id, key, region, task, score, train, test))
                    fits.update(1)
        get_encoder.cache_clear()  # free the encoder before the next one is built
    fits.close()
    return {"config": _config_summary(config), "results": results, "feature_cache": vars(cache.stats)}


def _load_splits(config: ProbeConfig):
    splits = {}
    for task_name in config.tasks:
        task = registry.TASKS.get(task_name)
        files = task_files(task_name, config.data_root, config.overrides)
        for region in config.regions:
            train = load_split(task, files.train, files.image_folder, region, config.max_train, config.seed)
            test = load_split(task, files.test, files.image_folder, region, config.max_test, config.seed)
            splits[(task_name, region)] = (train, test)
    return splits


def _row(name, encoder_id, key, region, task, score: Mapping[str, Any], train, test) -> Dict[str, Any]:
    value = score["metrics"].get(task.primary_metric)
    return {"encoder": name, "encoder_id": encoder_id, "layer": key[0], "pooling": key[1], "region": region,
            "task": task.name, "primary_metric": task.primary_metric, "higher_is_better": task.higher_is_better,
            "value": value if isinstance(value, (int, float)) else None, "score": dict(score),
            "n_train": len(train.records), "n_test": len(test.records),
            "skipped": {"train": train.skipped, "test": test.skipped},
            "full_image_fallbacks": {"train": train.full_image_fallbacks, "test": test.full_image_fallbacks}}


def _config_summary(config: ProbeConfig) -> Dict[str, Any]:
    names = ("encoders", "tasks", "layers", "poolings", "regions", "max_train", "max_test", "seed")
    return {**{name: getattr(config, name) for name in names}, "probe": vars(config.settings),
            "standardization": "per feature, mean/std of the train split"}


def short_encoder_name(name: str) -> str:
    """open_clip:/a/b/arch.json@/x/y/w.pt -> open_clip:arch@w.pt ; hf_clip:/m/clip -> hf_clip:clip."""
    if is_open_clip_tower(name):
        return OpenClipTowerSpec.parse(name).short_name()
    prefix, _, body = name.partition(":")
    return f"{prefix}:{Path(body.rstrip('/')).name}" if body else name


def _row_label(row: Dict[str, Any]) -> Tuple:
    return (short_encoder_name(row["encoder"]), row["layer"], row["pooling"], row["region"])


def result_table(results: List[Dict[str, Any]]):
    """(row labels, task names, values matrix with NaN where a metric is undefined)."""
    rows = list(dict.fromkeys(_row_label(row) for row in results))  # in order of first appearance
    tasks = list(dict.fromkeys(row["task"] for row in results))
    values = np.full((len(rows), len(tasks)), np.nan)
    for row in results:
        if row["value"] is not None and not math.isnan(row["value"]):
            values[rows.index(_row_label(row)), tasks.index(row["task"])] = row["value"]
    return rows, tasks, values


def markdown_table(results: List[Dict[str, Any]]) -> str:
    rows, tasks, values = result_table(results)
    metric = {row["task"]: row["primary_metric"] for row in results}
    header = "| encoder | layer | pooling | region | " + " | ".join(f"{t} ({metric[t]})" for t in tasks) + " |"
    lines = [header, "|" + " --- |" * (4 + len(tasks))]
    for label, row_values in zip(rows, values):
        cells = ["n/a" if np.isnan(v) else f"{v:.3f}" for v in row_values]
        lines.append(f"| {label[0]} | {label[1]} | {label[2]} | {label[3]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_probe_report(result: Dict[str, Any], out_dir: Path) -> Dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"json": out_dir / "probe_results.json", "markdown": out_dir / "probe_results.md",
               "chart": out_dir / "probe_chart.png"}
    written["json"].write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written["markdown"].write_text(markdown_table(result["results"]), encoding="utf-8")
    rows, tasks, values = result_table(result["results"])
    labels = [f"{enc} L{layer} {pool} {region}" for enc, layer, pool, region in rows]
    metric = {row["task"]: (row["primary_metric"], row.get("higher_is_better", True)) for row in result["results"]}
    columns = [f"{t}\n{metric[t][0]} {'↑' if metric[t][1] else '↓'}" for t in tasks]
    save_figure(heatmap(values, labels, columns, "linear-probe decodability (test split; n/a: undefined)",
                        "test value of each task's primary metric", xlabel="task, metric (↑ higher is better)",
                        ylabel="encoder, layer, pooling, region"), written["chart"])
    if len(result["config"]["layers"]) > 1:
        written["layers_chart"] = out_dir / "probe_layers.png"
        panels: Dict[str, Dict[str, list]] = {}
        for row in result["results"]:
            if row["value"] is None:
                continue
            series = f"{short_encoder_name(row['encoder'])} {row['pooling']} {row['region']}"
            panels.setdefault(f"{row['task']} ({row['primary_metric']})", {}).setdefault(series, []).append(
                (row["layer"], row["value"]))
        save_figure(line_panels(panels, "layer", "test metric", "probe metric by layer"), written["layers_chart"])
    return written
