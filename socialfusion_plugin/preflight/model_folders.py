"""Whether a Hugging Face model folder holds what `from_pretrained` will read: config.json, the
weights (one file, or every shard an index lists) and a tokenizer. Stat calls and small JSON files
only: weights are never opened.

A value that is not a local path may be a Hugging Face Hub id (`lmsys/vicuna-7b-v1.5`): it passes
when it is in the local Hugging Face cache, or when downloads are allowed (transformers fetches it);
with HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE set it must be in the cache. A value whose first folder
exists here (`runs/typo`) is a local path, never a Hub id.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import List, Optional, Sequence

from .weight_integrity import weight_file_problem

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def is_hub_id(value: str) -> bool:
    """True for a Hub id form that is not a local path (see the module docstring)."""
    text = str(value)
    if os.path.exists(os.path.expanduser(text)) or not _HUB_ID.match(text) or text.endswith((".json", ".bin")):
        return False
    first = text.split("/", 1)[0]
    return "/" in text and not os.path.isdir(first)


def hub_id_problem(repo_id: str) -> Optional[str]:
    """None when a Hub id can be loaded here (cached, or downloads allowed)."""
    if _in_hf_cache(repo_id):
        return None
    offline = [name for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if os.environ.get(name, "") not in ("", "0")]
    if offline:
        return (f"{repo_id} is not a local folder and not in the Hugging Face cache, and {offline[0]} is set: "
                "download it on a machine with internet access and pass the local folder")
    return None


def _in_hf_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers always brings huggingface_hub
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str) and os.path.isfile(found)


def model_folder_problems(path, tokenizer: bool = True, config: bool = True) -> List[str]:
    """What a language-model (or LLaVA checkpoint) folder lacks: config.json, weights, tokenizer.
    Each message names the folder."""
    value = str(path)
    if is_hub_id(value):
        problem = hub_id_problem(value)
        return [problem] if problem else []
    folder = Path(value).expanduser()
    if folder.is_file():
        return [f"{folder} is a file; give the model folder"]
    if not folder.is_dir():
        return [f"{folder} not found"]
    problems = []
    if config and not (folder / "config.json").is_file():
        problems.append(f"no config.json in {folder}: not a Hugging Face model folder")
    elif config:
        problems += filter(None, [config_problem(folder / "config.json")])
    weights = weight_files_problem(folder)
    if weights:
        problems.append(weights)
    else:
        problems += filter(None, (weight_file_problem(path) for path in present_weight_files(folder)))
    if tokenizer and not any((folder / name).is_file() for name in TOKENIZER_FILES):
        problems.append(f"no tokenizer in {folder} (none of {', '.join(TOKENIZER_FILES)})")
    return problems


def config_problem(path: Path) -> Optional[str]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"{path} cannot be read as JSON ({type(err).__name__}: {err})"
    return None if isinstance(config, dict) else f"{path} is not a JSON object"


def present_weight_files(folder: Path) -> List[Path]:
    """The weight files from_pretrained would read: every shard an index lists, or the single file
    (model.safetensors where both are there: transformers reads it first, and only it)."""
    for name in WEIGHT_INDEXES:
        index = folder / name
        if index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map") or {}
            return [folder / name for name in sorted({str(v) for v in weight_map.values()})]
    return [folder / name for name in WEIGHT_FILES if (folder / name).is_file()][:1]


def weight_files_problem(folder: Path) -> Optional[str]:
    """None when the weights are all there: a single file, or every shard of an index."""
    for name in WEIGHT_INDEXES:
        index = folder / name
        if index.is_file():
            return _missing_shards(folder, index)
    if any((folder / name).is_file() for name in WEIGHT_FILES):
        return None
    return (f"no weights in {folder} (none of {', '.join(WEIGHT_FILES + WEIGHT_INDEXES)}); "
            "was the download or the save interrupted?")


def _missing_shards(folder: Path, index: Path) -> Optional[str]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map")
    except (OSError, ValueError, AttributeError) as err:
        return f"{index} cannot be read as a weight index ({type(err).__name__})"
    if not isinstance(weight_map, dict) or not weight_map:
        return f"{index} has no weight_map"
    shards = sorted({str(name) for name in weight_map.values()})
    missing = [name for name in shards if not (folder / name).is_file()]
    if not missing:
        return None
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return f"{len(missing)} of {len(shards)} weight shards listed in {index} are missing: {shown}"


def adapter_weights_read(folder: Path, adapter_weights: Sequence[str]) -> Optional[Path]:
    """The LoRA weight file peft reads: the first of the host's names (`CheckpointFiles.adapter_weights`,
    safetensors first) present."""
    present = [Path(folder) / name for name in adapter_weights if (Path(folder) / name).is_file()]
    return present[0] if present else None


def adapter_weights_problem(folder: Path, adapter_weights: Sequence[str]) -> Optional[str]:
    read = adapter_weights_read(folder, adapter_weights)
    if read is not None:
        return weight_file_problem(read)
    return f"{folder} has adapter_config.json but no {' or '.join(adapter_weights)} (the LoRA weights)"
