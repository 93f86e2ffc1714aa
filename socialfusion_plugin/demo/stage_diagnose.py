"""Demo diagnostics: linear-probe decodability of the frozen tower, and gradient conflict between
the five tasks on the run's checkpoints."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

from .cli_calls import CommandLog, run_cli
from .stage_data import TASK_NAMES, DemoData


def probe(workdir: Path, vision_tower: str, data: DemoData, log: CommandLog, echo) -> Path:
    out = workdir / "diagnose" / "probe"
    argv = ["probe", "--encoders", vision_tower, "--tasks", *TASK_NAMES, "--out", out, "--layers", "-1", "-2",
            "--pooling", "mean", "--region", "full", "region", "--cache-dir", workdir / "cache" / "probe",
            "--no-progress", "--workers", "1"]
    for task in TASK_NAMES:
        argv += ["--train", f"{task}={data.converted[task]['train']}", "--test", f"{task}={data.converted[task]['test']}",
                 "--image-folder", f"{task}={data.roots[task]}"]
    run_cli(argv, log)
    echo(f"      probe table: {out / 'probe_results.md'} (+ probe_chart.png, probe_layers.png)")
    return out


def conflict(workdir: Path, checkpoints: List[Path], llm_dir: Path, data: DemoData, log: CommandLog, echo) -> Path:
    out = workdir / "diagnose" / "conflict"
    argv = ["conflict", "--model-path", *checkpoints, "--model-base", llm_dir, "--tasks", *TASK_NAMES,
            "--batches", "2", "--batch-size", "2", "--out", out, "--no-progress"]
    for task in TASK_NAMES:
        argv += ["--data", f"{task}={data.converted[task]['train']}", "--image-folder", f"{task}={data.roots[task]}"]
    run_cli(argv, log)
    result = json.loads((out / "conflict.json").read_text(encoding="utf-8"))
    for checkpoint in result["checkpoints"]:
        overall = checkpoint["groups"]["all"]
        echo(f"      {Path(checkpoint['model_path']).name:<14} mean cosine {overall['mean_cosine']:+.3f}, "
             f"negative task pairs {overall['negative_share']:.0%}")
    echo(f"      conflict: {out / 'conflict.json'} (+ heatmaps, trend plot)")
    return out
