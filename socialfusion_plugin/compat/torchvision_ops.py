"""Let torchvision import next to a torch build its compiled ops were not made for.

PyPI's torchvision wheels are CUDA builds. Next to a CPU-only torch their `_C` library cannot load,
and `import torchvision` then dies in `_meta_registrations` with "operator torchvision::nms does not
exist". open_clip, timm and transformers import torchvision, so that one failure stops everything.

Declaring the two op schemas that `_meta_registrations` decorates (nms, qnms) before torchvision is
first imported lets it import; transforms, timm and open_clip work; only torchvision's compiled
detection ops stay unavailable (they raise if called). This runs ONLY when the real library fails to
load, so a matching torchvision (the usual GPU setup) is never touched.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import sys
from typing import Optional

_SCHEMAS = ("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
            "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

# Holds the torch.library.Library for the life of the process: dropping it would drop the schemas.
_shim_library = None
shim_installed = False


def _compiled_ops_path() -> Optional[str]:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for candidate in sorted(glob.glob(os.path.join(folder, "_C*.so")) + glob.glob(os.path.join(folder, "_C*.pyd"))):
            return candidate
    return ""  # torchvision present but without a compiled library


def compiled_ops_load() -> bool:
    import torch

    path = _compiled_ops_path()
    if not path:
        return False
    try:
        torch.ops.load_library(path)
        return True
    except (OSError, RuntimeError, ImportError):
        return False


def ensure_torchvision_importable() -> bool:
    """Install the schema shim if (and only if) torchvision is installed, not yet imported, and its
    compiled ops fail to load. Returns True when the shim was installed by this call."""
    global _shim_library, shim_installed
    # nothing to fix: already done, torchvision imported or not installed, or its ops load
    if shim_installed or "torchvision" in sys.modules or _compiled_ops_path() is None or compiled_ops_load():
        return False
    import torch

    library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        library.define(schema)
    _shim_library = library
    shim_installed = True
    return True
