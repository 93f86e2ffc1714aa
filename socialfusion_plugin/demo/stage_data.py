"""Demo data: synthetic releases of the five datasets in their original formats, a generated
stand-in for LLaVA's general instruction data, converted splits, the shipped recipe mixed and
validated."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

from ..data_layout import DataLayout
from ..resources import data_recipe
from .cli_calls import CommandLog, run_cli
from .cue_releases import CueReleaseSizes, write_cue_releases
from .synthetic_data import write_arithmetic_dataset, write_color_dataset

TASK_NAMES = ("gesture", "relation", "gaze", "gaze_video", "emotion")
GENERAL_RECIPE = "social5_general"


@dataclass
class DemoData:
    data_root: Path  # $SOCIALFUSION_DATA of the shipped recipes
    roots: Dict[str, Path]  # task -> dataset root (the release)
    converted: Dict[str, Dict[str, Path]]  # task -> split -> converted JSON (absolute image paths)
    color_json: Path  # general data with images (the learning check)
    heldout_text: Path  # text-only general samples never trained on (the forgetting check)
    merged: Path


def write_general_data(data_root: Path, seed: int) -> Path:
    """`llava/llava_v1_5_mix665k.json` where the shipped general recipe looks for it: a generated
    stand-in (colored squares + text-only sums), clearly not the real mix665k."""
    llava = data_root / "llava"
    colors = write_color_dataset(llava / "colors", count=64, seed=seed)
    sums = json.loads(write_arithmetic_dataset(llava / "sums.json", count=16, seed=seed).read_text())
    records = json.loads(colors.read_text())
    for record in records:
        record["image"] = f"colors/images/{record['image']}"
    stand_in = llava / "llava_v1_5_mix665k.json"
    stand_in.write_text(json.dumps(records + sums, indent=1) + "\n", encoding="utf-8")
    return colors


def prepare_data(workdir: Path, llm_dir: Path, seed: int, log: CommandLog, echo,
                 sizes: CueReleaseSizes = CueReleaseSizes()) -> DemoData:
    data_root = workdir / "data"
    roots = write_cue_releases(data_root, seed, sizes)
    color_json = write_general_data(data_root, seed)
    heldout = write_arithmetic_dataset(workdir / "heldout" / "sums.json", count=8, seed=seed + 1)
    echo(f"      releases: {', '.join(f'{t}={p.name}/' for t, p in roots.items())} under {data_root}")
    converted: Dict[str, Dict[str, Path]] = {}
    for task in TASK_NAMES:
        converted[task] = {}
        for split in ("train", "test"):
            out = DataLayout(data_root).converted(task, split)  # where every command looks for it
            report = DataLayout(data_root).report(task, split)
            run_cli(["convert", task, "--root", roots[task], "--split", split, "--out", out, "--report", report,
                     "--absolute-paths", "--no-progress", "--workers", "1"], log)
            counts = json.loads(report.read_text())
            reasons = ", ".join(f"{n} {r}" for r, n in counts["skip_reasons"].items()) or "none"
            echo(f"      convert {task:<10} {split:<5} read {counts['read']:>2}, converted {counts['converted']:>2}, "
                 f"skipped {counts['skipped']:>2} ({reasons})")
            converted[task][split] = out
    merged = workdir / "mixed" / "social5_general.json"
    run_cli(["mix", data_recipe(GENERAL_RECIPE), "--out", merged, "--cache-dir", workdir / "cache" / "data",
             "--no-progress", "--workers", "1"], log)
    manifest = json.loads(merged.with_name(merged.stem + ".manifest.json").read_text())
    counts = ", ".join(f"{s['name']} {s['in_mixture']}" for s in manifest["sources"])
    echo(f"      mix {data_recipe(GENERAL_RECIPE).name}: {counts} -> {merged}")
    run_cli(["validate", merged, "--image-folder", "/", "--model", llm_dir, "--version", "v1",
             "--model-max-length", "512", "--image-tokens", "16", "--report", merged.with_suffix(".validation.json"),
             "--no-progress", "--workers", "1"], log)
    echo("      validate: no findings (images, <image> tokens, turns, label masking, length)")
    return DemoData(data_root=data_root, roots=roots, converted=converted, color_json=color_json, heldout_text=heldout,
                    merged=merged)
