"""Whether the weights of a `--vision_tower` value are on this machine (never downloads).

Uses the same parsing and resolution as training (`model/tower_spec.py`), so a missing file gets the
message training would give: what to download, and how to pass the file. Only presence is checked:
whether the checkpoint fits the architecture is checked when training loads it.
"""
from __future__ import annotations

import os

from ..model.tower_spec import (PREFIX, OpenClipTowerSpec, VisionTowerSpecError, VisionWeightsNotFound,
                                is_open_clip_tower)
from .findings import INFO, OK, PROBLEM, Finding
from .import_checks import describe_error

CHECK = "vision tower"


def check_vision_tower(value: str) -> Finding:
    if not is_open_clip_tower(value):
        return Finding(CHECK, INFO, f"{value!r} is not an {PREFIX}:ARCH@WEIGHTS tower; only those are checked")
    try:
        spec = OpenClipTowerSpec.parse(value)
        spec.vision_config()  # the architecture is known to open_clip (a custom JSON is registered)
        path = spec.resolve_weights()
    except (VisionTowerSpecError, VisionWeightsNotFound) as err:
        return Finding(CHECK, PROBLEM, str(err))
    except Exception as err:  # e.g. open_clip does not import: reported by the import checks too
        return Finding(CHECK, PROBLEM, f"cannot be resolved: {describe_error(err)}")
    size_mb = os.path.getsize(path) / 1e6
    return Finding(CHECK, OK, f"{spec.as_string()}: weights present at {path} ({size_mb:.1f} MB)")
