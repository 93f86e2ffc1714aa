"""Whether a vision tower value (`--vision_tower`, a checkpoint's `mm_vision_tower`, a probe
encoder) can be built here, without building it.

`open_clip:ARCH@WEIGHTS` (`is_open_clip_tower`) goes through the doctor's check (`doctor/tower_check.py`: the same parsing
and local resolution as training, so the message says what to download). Any other value is what
LLaVA's own builder takes: a local Hugging Face CLIP folder, or a Hub id (`openai/clip-vit-...`).

A probe's Hugging Face tower (`hf_clip:`, `hf_siglip:`, `hf_vlm:` FOLDER) is checked by
`hf_probe_tower_check`: the folder's layout as the probe reads it (config.json, the tower's family
and key prefix, the weight index and the shards that hold the tower, the tower's blocks against the
config, preprocessor_config.json against the tower's image size), then each of those shards for
being complete. Headers and small JSON files only.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

from ..doctor.findings import PROBLEM
from ..doctor.tower_check import check_vision_tower
from ..model.tower_spec import is_open_clip_tower
from .model_folders import is_hub_id, model_folder_problems
from .weight_integrity import weight_file_problem

PROCESSOR_FILE = "preprocessor_config.json"


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


def hf_probe_tower_check(kind, name: str) -> Tuple[List[str], Optional[object]]:
    """(problems, the tower's layout or None) of a probe encoder of a Hugging Face tower kind
    (`analysis.encoders.HfTowerKind`); each problem one line naming the folder or file."""
    from ..analysis.encoders import EncoderSpecError

    try:
        layout = kind.layout(name, file_check=weight_file_problem)
        kind.describe(name)  # reads preprocessor_config.json against the tower's image size
    except EncoderSpecError as err:
        return [str(err)], None
    problems = [problem for problem in map(weight_file_problem, layout.weight_files) if problem]
    return problems, (None if problems else layout)
