"""Data files shipped inside the package (so an installed plugin has them without the repository).

`recipes/deepspeed` in the repository is a link to `resources/deepspeed`: one copy of each config.
ZeRO-3 configs give `stage3_prefetch_bucket_size` as an integer: with transformers 4.37 "auto"
becomes a float that DeepSpeed rejects.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

RESOURCES = Path(__file__).parent
DEEPSPEED_DIR = RESOURCES / "deepspeed"


def list_deepspeed_configs() -> List[str]:
    return sorted(path.stem for path in DEEPSPEED_DIR.glob("*.json"))


def deepspeed_config(name: str) -> Path:
    path = DEEPSPEED_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no DeepSpeed config {name!r}; shipped: {', '.join(list_deepspeed_configs())}"
        )
    return path
