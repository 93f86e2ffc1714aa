"""Whether DeepSpeed can run on this machine, and if not, why (one sentence a user can act on).

On GPU machines the answer is always yes. On a CPU-only machine two things in LLaVA's own pins stop
it, and neither has an honest way around: accelerate before 0.29 initialises DeepSpeed with NCCL
whatever the machine has (`"DeepSpeed always uses nccl"` in its state.py), and DeepSpeed's CPU
accelerator imports `oneccl_bindings_for_pytorch` (Intel's index, not PyPI) before its own gloo
fallback arrived. The launcher, the demo, `doctor` and the tests ask here instead of guessing.
"""
from __future__ import annotations

import importlib
from typing import Optional

from packaging.version import Version

# First accelerate release whose state.py no longer hard-codes NCCL for DeepSpeed (0.28.0 still does).
ACCELERATE_DEEPSPEED_CPU_SINCE = Version("0.29.0")


def deepspeed_cpu_blocker() -> Optional[str]:
    """None when DeepSpeed can run here; otherwise the reason it cannot (CPU-only machines only)."""
    import torch

    if torch.cuda.is_available():
        return None
    try:
        deepspeed = importlib.import_module("deepspeed")
    except Exception as err:  # any import failure means no DeepSpeed here; say which
        return f"deepspeed does not import: {type(err).__name__}: {err}"
    import accelerate

    if Version(accelerate.__version__) < ACCELERATE_DEEPSPEED_CPU_SINCE:
        return (f"accelerate {accelerate.__version__} always initialises DeepSpeed with NCCL, which needs a GPU; "
                f"DeepSpeed on a CPU-only machine needs accelerate>={ACCELERATE_DEEPSPEED_CPU_SINCE} "
                "(GPU machines are unaffected)")
    try:
        importlib.import_module("deepspeed.accelerator.cpu_accelerator")
    except ImportError as err:
        return (f"DeepSpeed {deepspeed.__version__}'s CPU accelerator needs {err.name or err} "
                "(not on PyPI); GPU machines are unaffected")
    return None
