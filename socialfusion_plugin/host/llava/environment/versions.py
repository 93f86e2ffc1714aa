"""Checks that the environment can run LLaVA's training code, with messages that say what to do.

LLaVA's `llava/model/__init__.py` wraps its imports in a bare try/except, so an incompatible
transformers surfaces only as "cannot import name LlavaLlamaForCausalLM". We check first.

Whether DeepSpeed can run here (`deepspeed_cpu_blocker`): on GPU machines always. On a CPU-only
machine two things in LLaVA's own pins stop it, and neither has an honest way around: accelerate
before 0.29 initialises DeepSpeed with NCCL whatever the machine has (`"DeepSpeed always uses nccl"`
in its state.py), and DeepSpeed's CPU accelerator imports `oneccl_bindings_for_pytorch` (Intel's
index, not PyPI) before its own gloo fallback arrived. The launcher, the demo, `doctor` and the tests
ask here instead of guessing.
"""
from __future__ import annotations

import importlib
from typing import Optional

from packaging.version import Version

from socialfusion_plugin.host_interface import HostEnvironmentError

# transformers range LLaVA 1.2.x training AND generation work with (tested: 4.37.2).
SUPPORTED_TRANSFORMERS = (Version("4.37.0"), Version("4.38.0"))
SUPPORTED_PEFT_BELOW = Version("0.14.0")
# First accelerate release whose state.py no longer hard-codes NCCL for DeepSpeed (0.28.0 still does).
ACCELERATE_DEEPSPEED_CPU_SINCE = Version("0.29.0")
# why a transformers release breaks LLaVA 1.2.x, from the newest breaking change down
TRANSFORMERS_BREAKS = (
    (Version("4.53.0"), "it removed ALL_LAYERNORM_LAYERS (imported by llava_trainer.py) and changed "
                        "_get_train_sampler"),
    (Version("4.40.0"), "LLaVA's generate() fails with it (cache_position), so checkpoints cannot be evaluated"),
    (Version("4.38.0"), "it builds Llama's causal mask anew (_update_causal_mask) and rejects the 4D attention mask "
                        "that eval --mode rank scores all options with on the cached prompt"),
)


def check_transformers_version(version: Optional[str] = None) -> None:
    if version is None:
        import transformers

        version = transformers.__version__
    parsed = Version(version)
    low, high = SUPPORTED_TRANSFORMERS
    if low <= parsed < high:
        return
    why = next((why for since, why in TRANSFORMERS_BREAKS if parsed >= since), "LLaVA 1.2.x code needs at least 4.37")
    raise HostEnvironmentError(f"transformers {version} is not supported: {why}. Install a version in [{low}, {high}), "
                               "e.g. `pip install transformers==4.37.2 tokenizers==0.15.2` (the version LLaVA's "
                               "repository pins).")


def check_peft_version(version: Optional[str] = None) -> None:
    if version is None:
        try:
            import peft
        except ImportError:
            raise HostEnvironmentError("peft is not installed: `pip install peft==0.13.2`") from None
        version = peft.__version__
    if Version(version) >= SUPPORTED_PEFT_BELOW:
        raise HostEnvironmentError(f"peft {version} does not import with transformers 4.37.x; install `peft==0.13.2`")


def import_llava():
    """Import LLaVA, turning its silent import failures into a message naming the cause."""
    try:
        llava = importlib.import_module("llava")
    except ImportError as err:
        raise HostEnvironmentError(
            "LLaVA is not installed in this environment. Install it without letting pip change your "
            "torch/transformers: `pip install --no-deps llava-torch==1.2.2.post1`, or `pip install -e .` "
            f"inside a LLaVA source checkout. ({err})"
        ) from None
    model_package = importlib.import_module("llava.model")
    if not hasattr(model_package, "LlavaLlamaForCausalLM"):
        # llava/model/__init__.py swallowed the real error: import the module directly to surface it.
        try:
            importlib.import_module("llava.model.language_model.llava_llama")
        except Exception as err:  # report whatever broke, with its type
            raise HostEnvironmentError(
                f"LLaVA is installed but its model code does not import: {type(err).__name__}: {err}. "
                "This is usually a transformers version LLaVA does not support."
            ) from err
        raise HostEnvironmentError("LLaVA is installed but llava.model has no LlavaLlamaForCausalLM")
    return llava


def version_breaks():
    low, high = SUPPORTED_TRANSFORMERS
    return [("transformers", f"<{low}", check_transformers_version),
            ("transformers", f">={high}", check_transformers_version),
            ("peft", f">={SUPPORTED_PEFT_BELOW}", check_peft_version)]


def check_environment() -> None:
    check_transformers_version()
    check_peft_version()
    import_llava()


def deepspeed_cpu_blocker() -> Optional[str]:
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
