"""Data files shipped inside the package (so an installed plugin has them without the repository).

`recipes/deepspeed`, `data_recipes` and `constraints` in the repository are links to `resources/deepspeed`,
`resources/data_recipes` and `resources/constraints`: one copy of each file, reachable from a checkout and
from an install (the doctor reads the CI lanes' pins from `constraints`).
ZeRO-3 configs give `stage3_prefetch_bucket_size` as an integer: with transformers 4.37 "auto"
becomes a float that DeepSpeed rejects.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

RESOURCES = Path(__file__).parent
DEEPSPEED_DIR = RESOURCES / "deepspeed"
DATA_RECIPES_DIR = RESOURCES / "data_recipes"
CONSTRAINTS_DIR = RESOURCES / "constraints"


def list_deepspeed_configs() -> List[str]:
    return sorted(path.stem for path in DEEPSPEED_DIR.glob("*.json"))


def deepspeed_config(name: str) -> Path:
    path = DEEPSPEED_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no DeepSpeed config {name!r}; shipped: {', '.join(list_deepspeed_configs())}"
        )
    return path


def list_data_recipes() -> List[str]:
    return sorted(path.stem for path in DATA_RECIPES_DIR.glob("*.yaml"))


def data_recipe(name: str) -> Path:
    path = DATA_RECIPES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no shipped data recipe {name!r}; shipped: {', '.join(list_data_recipes())}")
    return path
