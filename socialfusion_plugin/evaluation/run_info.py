"""The eval info written beside a predictions file (RUN/eval/<task>.eval.json): what `report` needs
to score the predictions later (references, task options, the records the run was limited to) and
the provenance a rerun into the same file must match (provenance.py). `eval` and `eval-suite` write
the same record."""
from __future__ import annotations

import dataclasses
import platform
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from ..host_interface import InferenceHost
from .provenance import eval_provenance

VERSIONED = ("socialfusion-plugin", "torch", "transformers", "peft", "accelerate", "deepspeed")
# LLaVA's `llava` package is installed by one of two distributions: `llava` (a source checkout,
# `pip install -e .`) or `llava-torch` (PyPI); the versions name the one that is there.
LLAVA_DISTRIBUTIONS = ("llava", "llava-torch")


@dataclasses.dataclass(frozen=True)
class EvalRun:
    """One task's evaluation: which model, data and settings."""

    task: str
    mode: str
    data: Path
    image_folder: Optional[Path]
    task_options: Mapping[str, Any]  # as given (the info records these; report passes them to score)
    resolved_options: Mapping[str, Any]  # every option, defaults filled in (what provenance compares)
    model_path: Path
    model_base: Optional[str]
    checkpoint_kind: str
    conv_mode: str
    max_new_tokens: int
    temperature: float
    seed: int
    multi_label_threshold: float
    limit: Optional[int]
    dtype: str  # the weights' dtype, e.g. "float32"


def weights_dtype(host: InferenceHost, device: str, dtype: Optional[str]) -> str:
    resolved = host.load_dtype(device, dtype)
    return str(resolved).replace("torch.", "") if resolved is not None else "float16"


def eval_info(run: EvalRun) -> Dict[str, Any]:
    provenance = eval_provenance(
        task=run.task, mode=run.mode, task_options=dict(run.resolved_options), model_path=run.model_path,
        model_base=run.model_base, data=run.data, image_folder=run.image_folder, conv_mode=run.conv_mode,
        max_new_tokens=run.max_new_tokens, temperature=run.temperature, seed=run.seed,
        multi_label_threshold=run.multi_label_threshold, dtype=run.dtype,
    )
    return {
        "task": run.task, "mode": run.mode, "data": str(Path(run.data).resolve()),
        "image_folder": str(Path(run.image_folder).resolve()) if run.image_folder else None,
        "task_options": dict(run.task_options), "model_path": str(run.model_path), "model_base": run.model_base,
        "checkpoint_kind": run.checkpoint_kind, "conv_mode": run.conv_mode, "max_new_tokens": run.max_new_tokens,
        "temperature": run.temperature, "seed": run.seed, "multi_label_threshold": run.multi_label_threshold,
        "limit": run.limit, "provenance": provenance,
        "versions": software_versions(),  # informative: not compared on a rerun (provenance is)
    }


def software_versions() -> Dict[str, Optional[str]]:
    """Installed versions of the packages that change answers (None: not installed), and Python's."""
    from importlib import metadata

    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in VERSIONED:
        versions[name] = _version(name)
    versions.update(llava_version())
    return versions


def _version(distribution: str) -> Optional[str]:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def llava_version() -> Dict[str, Optional[str]]:
    """{distribution: version} of the installed LLaVA: the distribution that provides the `llava`
    import package when the metadata says so, else the first of LLAVA_DISTRIBUTIONS installed;
    {"llava": None} when none is."""
    from importlib import metadata

    providers = []
    if hasattr(metadata, "packages_distributions"):  # Python >= 3.10
        providers = list(metadata.packages_distributions().get("llava", []))
    for name in dict.fromkeys(providers + list(LLAVA_DISTRIBUTIONS)):
        version = _version(name)
        if version is not None:
            return {name: version}
    return {"llava": None}


def versions_text(versions: Mapping[str, Optional[str]]) -> str:
    """"python 3.11.9, torch 2.13.0, ..., llava-torch 1.2.2.post1" ("not installed" for None)."""
    return ", ".join(f"{name} {version or 'not installed'}" for name, version in versions.items())
