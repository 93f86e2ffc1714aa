"""Whether a vision tower value (`--vision_tower`, a checkpoint's `mm_vision_tower`, a probe
encoder) can be built here, without building it.

`open_clip:ARCH@WEIGHTS` goes through the doctor's check (`doctor/tower_check.py`: the same parsing
and local resolution as training, so the message says what to download). Any other value is what
LLaVA's own builder takes: a local Hugging Face CLIP folder, or a Hub id (`openai/clip-vit-...`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..doctor.findings import PROBLEM
from ..doctor.tower_check import check_vision_tower
from ..model.tower_spec import PREFIX
from .model_folders import is_hub_id, model_folder_problems

PROCESSOR_FILE = "preprocessor_config.json"


def vision_tower_problem(value: str) -> Optional[str]:
    """None when the tower's architecture and weights are on this machine (or, for a Hub id, can be
    fetched); else what is missing and what to do."""
    if str(value).startswith(PREFIX + ":"):
        finding = check_vision_tower(str(value))
        return finding.message if finding.level == PROBLEM else None
    problems = model_folder_problems(value, tokenizer=False)
    folder = Path(str(value)).expanduser()
    if not problems and not is_hub_id(str(value)) and not (folder / PROCESSOR_FILE).is_file():
        problems.append(f"no {PROCESSOR_FILE} in {folder} (LLaVA's CLIP tower reads its image processor from it)")
    return "; ".join(problems) if problems else None
