"""Whether a Hugging Face model folder holds what `from_pretrained` will read: config.json, the
weights (one file, or every shard an index lists) and a tokenizer. Stat calls and small JSON files
only: weights are never opened.

A value that is not a local path may be a Hugging Face Hub id (`lmsys/vicuna-7b-v1.5`): it passes
when it is in the local Hugging Face cache, or when downloads are allowed (transformers fetches it);
with HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE set it must be in the cache. A value whose first folder
exists here (`runs/typo`) is a local path, never a Hub id.

A vision tower value (`--vision_tower`, a checkpoint's `mm_vision_tower`, a probe encoder) is such a
folder or Hub id, as LLaVA's own builder takes it (a Hugging Face CLIP folder, `openai/clip-vit-...`),
or `open_clip:ARCH@WEIGHTS`, which goes through the doctor's check (`doctor/tower_check.py`: the same
parsing and local resolution as training, so the message says what to download).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..doctor.findings import PROBLEM
from ..doctor.tower_check import check_vision_tower
from ..model.tower_spec import is_open_clip_tower
from .weight_integrity import weight_file_problem

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
PROCESSOR_FILE = "preprocessor_config.json"


def is_hub_id(value: str) -> bool:
    """True for a Hub id form that is not a local path (see the module docstring)."""
    text = str(value)
    if os.path.exists(os.path.expanduser(text)) or not _HUB_ID.match(text) or text.endswith((".json", ".bin")):
        return False
    first = text.split("/", 1)[0]
    return "/" in text and not os.path.isdir(first)


def hub_id_problem(repo_id: str) -> Optional[str]:
    """None when a Hub id can be loaded here (cached, or downloads allowed)."""
    offline = [name for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if os.environ.get(name, "") not in ("", "0")]
    if not offline:
        return None
    from huggingface_hub import try_to_load_from_cache  # transformers' own dependency

    cached = try_to_load_from_cache(repo_id, "config.json")
    if isinstance(cached, str) and os.path.isfile(cached):
        return None
    return (f"{repo_id} is not a local folder and not in the Hugging Face cache, and {offline[0]} is set: "
            "download it on a machine with internet access and pass the local folder")


def model_folder_problems(path, tokenizer: bool = True) -> List[str]:
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
    config = folder / "config.json"
    problems = [read_json_object(config)[1] if config.is_file()
                else f"no config.json in {folder}: not a Hugging Face model folder"]
    missing, files = _weight_files(folder)
    problems += [missing] if missing else map(weight_file_problem, files)
    if tokenizer and not any((folder / name).is_file() for name in TOKENIZER_FILES):
        problems.append(f"no tokenizer in {folder} (none of {', '.join(TOKENIZER_FILES)})")
    return [problem for problem in problems if problem]


def read_json_object(path: Path) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """(the JSON object in `path`, None) or (None, why it is not one)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return None, f"{path} cannot be read as JSON ({type(err).__name__}: {err})"
    return (value, None) if isinstance(value, dict) else (None, f"{path} is not a JSON object")


def _weight_files(folder: Path) -> Tuple[Optional[str], List[Path]]:
    """(what is missing, the weight files from_pretrained would read): every shard an index lists, or the
    single file (model.safetensors where both are there: transformers reads it first, and only it)."""
    index = next((folder / name for name in WEIGHT_INDEXES if (folder / name).is_file()), None)
    if index is None:
        present = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
        if present:
            return None, present[:1]
        return (f"no weights in {folder} (none of {', '.join(WEIGHT_FILES + WEIGHT_INDEXES)}); "
                "was the download or the save interrupted?"), []
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map")
    except (OSError, ValueError, AttributeError) as err:
        return f"{index} cannot be read as a weight index ({type(err).__name__})", []
    if not isinstance(weight_map, dict) or not weight_map:
        return f"{index} has no weight_map", []
    shards = sorted({str(name) for name in weight_map.values()})
    missing = [name for name in shards if not (folder / name).is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return f"{len(missing)} of {len(shards)} weight shards listed in {index} are missing: {shown}", []
    return None, [folder / name for name in shards]


def vision_tower_problem(value: str) -> Optional[str]:
    """None when the tower's architecture and weights are on this machine (or, for a Hub id, can be
    fetched); else what is missing and what to do."""
    if is_open_clip_tower(str(value)):
        finding = check_vision_tower(str(value))
        return finding.message if finding.level == PROBLEM else None
    problems = model_folder_problems(value, tokenizer=False)
    folder = Path(str(value)).expanduser()
    if not problems and not is_hub_id(str(value)) and not (folder / PROCESSOR_FILE).is_file():
        problems.append(f"no {PROCESSOR_FILE} in {folder} (LLaVA's CLIP tower reads its image processor from it)")
    return "; ".join(problems) if problems else None
