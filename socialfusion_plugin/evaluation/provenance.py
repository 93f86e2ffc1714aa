"""What produced a predictions file, and the rule that a rerun into it must be the same evaluation.

`eval` resumes: ids already in `--out` are skipped. Without a record of how those lines were made, a
rerun with another checkpoint, mode or data file would add nothing (or add other answers) and report
success, and the file would hold one model's answers under another's name. So `<name>.eval.json`
(beside the predictions, see `info_path`) holds a `provenance` object, written before the first
prediction, and a rerun compares its own with it:

- the model and base paths (resolved) and a fingerprint of their weights files: for each top-level
  file with a weights suffix, and config.json / adapter_config.json, its size and the SHA-256 of its
  first and last MiB (fast on multi-GB shards; a copied checkpoint matches, a retrained one does not);
- the task, the mode, every task option (defaults filled in), the SHA-256 of the whole data file,
  the image folder, the conversation template, and the settings that change answers
  (max_new_tokens, temperature, seed, multi_label_threshold, dtype).

The data file is compared by its hash only (a moved copy is the same data); the model by path AND
fingerprint, since a fingerprint samples the bytes. batch size and --limit change no answer
(generation is batch-invariant, tested) and are not compared.

Beside the provenance, the info file records what `report` needs to score the predictions later
(references, task options, the records the run was limited to) and the software versions
(informative, never compared). `eval` and `eval-suite` write the same record.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from socialfusion_plugin.data.source_cache import file_sha256
from socialfusion_plugin.doctor.version_checks import installed_version
from socialfusion_plugin.errors import UserInputError
from socialfusion_plugin.host_interface import InferenceHost
from socialfusion_plugin.json_records import read_json

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")
CONFIG_FILES = ("config.json", "adapter_config.json")
SAMPLE_BYTES = 1 << 20  # the first and the last MiB of each weights file
FILE_MAPS = ("model_path_weights", "model_base_weights")  # {file name: fingerprint}
VERSIONED = ("socialfusion-plugin", "torch", "transformers", "peft", "accelerate", "deepspeed")
# LLaVA's `llava` package is installed by one of two distributions: `llava` (a source checkout,
# `pip install -e .`) or `llava-torch` (PyPI); the versions name the one that is there.
LLAVA_DISTRIBUTIONS = ("llava", "llava-torch")
# the decoding settings that change answers, in the order the info file lists them
ANSWER_SETTINGS = ("conv_mode", "max_new_tokens", "temperature", "seed", "multi_label_threshold")


def info_path(out: Path) -> Path:
    """RUN/eval/<task>.eval.json for RUN/eval/<task>.preds.jsonl (<stem>.eval.json otherwise)."""
    out = Path(out)
    name = out.name[: -len(".preds.jsonl")] if out.name.endswith(".preds.jsonl") else out.stem
    return out.with_name(f"{name}.eval.json")


def read_info(path: Path) -> Optional[Dict[str, Any]]:
    """The eval info in `path`, None when there is none; an unreadable one is an error naming it."""
    path = Path(path)
    if not path.is_file():
        return None
    return read_json(path, "eval info file", dict, "an eval info file (a JSON object)", UserInputError,
                     hint="fix or delete it")


def sampled_fingerprint(path: Path) -> str:
    """'<size> bytes, <sha256 of the first and last MiB>' (the whole file when it is at most 2 MiB)."""
    size = os.path.getsize(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        if size <= 2 * SAMPLE_BYTES:
            digest.update(handle.read())
        else:
            digest.update(handle.read(SAMPLE_BYTES))
            handle.seek(size - SAMPLE_BYTES)
            digest.update(handle.read(SAMPLE_BYTES))
    return f"{size} bytes, {digest.hexdigest()[:16]}"


def weights_fingerprint(model: Optional[Union[str, Path]]) -> Union[None, str, Dict[str, str]]:
    """{file name: fingerprint} of a model folder's weights and config files; a file's own
    fingerprint; a note for a name that is not a local path (a hub id); None for no model."""
    if model is None:
        return None
    path = Path(model)
    if path.is_file():
        return {path.name: sampled_fingerprint(path)}
    if not path.is_dir():
        return "not a local path"
    return {entry.name: sampled_fingerprint(entry) for entry in sorted(path.iterdir())
            if entry.is_file() and (entry.suffix in WEIGHT_SUFFIXES or entry.name in CONFIG_FILES)}


def _local(model: Optional[Union[str, Path]]) -> Optional[str]:
    if model is None:
        return None
    return str(Path(model).resolve()) if Path(model).exists() else str(model)


def eval_provenance(*, task: str, mode: str, task_options: Mapping[str, Any], model_path, model_base, data: Path,
                    image_folder: Optional[Path], conv_mode: str, max_new_tokens: int, temperature: float, seed: int,
                    multi_label_threshold: float, dtype: str) -> Dict[str, Any]:
    """Everything a rerun must share with the run that wrote a predictions file (JSON-normalized,
    so a value read back from the info file compares equal to a fresh one)."""
    record = {
        "task": task, "mode": mode, "task_options": dict(task_options),
        "model_path": _local(model_path), "model_path_weights": weights_fingerprint(model_path),
        "model_base": _local(model_base), "model_base_weights": weights_fingerprint(model_base),
        "data_sha256": file_sha256(data), "image_folder": _local(image_folder),
        "conv_mode": conv_mode, "max_new_tokens": int(max_new_tokens), "temperature": float(temperature),
        "seed": int(seed), "multi_label_threshold": float(multi_label_threshold), "dtype": dtype,
    }
    return json.loads(json.dumps(record, default=str))


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> List[str]:
    """'<key>: <recorded> (in the file) -> <current> (this run)' for every key that differs."""
    lines = []
    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key), current.get(key)
        if old == new:
            continue
        if key in FILE_MAPS and isinstance(old, dict) and isinstance(new, dict):
            lines.append(f"{key}: {_files_change(old, new)}")
        else:
            lines.append(f"{key}: {_short(old)} (in the file) -> {_short(new)} (this run)")
    return lines


def _files_change(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    parts = [f"{name} changed ({old[name]} -> {new[name]})" for name in sorted(set(old) & set(new))
             if old[name] != new[name]]
    parts += [f"{name} only in the file" for name in sorted(set(old) - set(new))]
    parts += [f"{name} only in this run" for name in sorted(set(new) - set(old))]
    return "; ".join(parts)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def weights_dtype(host: InferenceHost, device: str, dtype: Optional[str]) -> str:
    resolved = host.load_dtype(device, dtype)
    return str(resolved).replace("torch.", "") if resolved is not None else "float16"


def eval_info(entry, settings, resolved_options: Mapping[str, Any], checkpoint_kind: str, dtype: str) -> Dict[str, Any]:
    """The info of one task's evaluation: `entry` (suite.SuiteEntry) says which task, data and
    options, `settings` (suite.SuiteSettings) which checkpoint and decoding. The info records the task
    options as given (report passes them to score); provenance compares `resolved_options`, every
    option with its default filled in. `dtype`: the weights' dtype, e.g. "float32"."""
    decoding = {key: getattr(settings, key) for key in ANSWER_SETTINGS}
    provenance = eval_provenance(
        task=entry.task, mode=entry.mode, task_options=dict(resolved_options), model_path=settings.model_path,
        model_base=settings.model_base, data=entry.data, image_folder=entry.image_folder, dtype=dtype, **decoding)
    return {
        "task": entry.task, "mode": entry.mode, "data": str(Path(entry.data).resolve()),
        "image_folder": str(Path(entry.image_folder).resolve()) if entry.image_folder else None,
        "task_options": dict(entry.options), "model_path": str(settings.model_path), "model_base": settings.model_base,
        "checkpoint_kind": checkpoint_kind, **decoding, "limit": entry.limit, "provenance": provenance,
        "versions": software_versions(),  # informative: not compared on a rerun (provenance is)
    }


def software_versions() -> Dict[str, Optional[str]]:
    """Installed versions of the packages that change answers (None: not installed), and Python's."""
    return {"python": platform.python_version(), **{name: installed_version(name) for name in VERSIONED},
            **llava_version()}


def llava_version() -> Dict[str, Optional[str]]:
    """{distribution: version} of the installed LLaVA: the distribution that provides the `llava`
    import package when the metadata says so, else the first of LLAVA_DISTRIBUTIONS installed;
    {"llava": None} when none is."""
    from importlib import metadata

    for name in dict.fromkeys([*metadata.packages_distributions().get("llava", []), *LLAVA_DISTRIBUTIONS]):
        version = installed_version(name)
        if version is not None:
            return {name: version}
    return {"llava": None}


def versions_text(versions: Mapping[str, Optional[str]]) -> str:
    """"python 3.11.9, torch 2.13.0, ..., llava-torch 1.2.2.post1" ("not installed" for None)."""
    return ", ".join(f"{name} {version or 'not installed'}" for name, version in versions.items())
