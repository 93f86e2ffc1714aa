"""Whether the modules a run needs import, each reported with the error that actually stopped it.

`import_module` is looked up at call time, and the host is a parameter, so tests can replace them to
simulate a broken environment.
"""
from __future__ import annotations

import importlib
from typing import List

from ..host_interface import EnvironmentHost, HostEnvironmentError
from .findings import INFO, OK, PROBLEM, WARNING, Finding

import_module = importlib.import_module

# (module, what needs it): a failure to import any of these stops training or evaluation.
REQUIRED_MODULES = (
    ("transformers.trainer", "LLaVA's trainer subclasses it"),
    ("datasets", "data recipes cache their sources with it"),
    ("pyarrow", "datasets stores its caches as Arrow"),
    ("open_clip", "the frozen vision tower is an open_clip model"),
)


def describe_error(err: BaseException) -> str:
    first_line = (str(err).strip().splitlines() or [""])[0]
    return f"{type(err).__name__}: {first_line[:300]}"


def check_llava(host: EnvironmentHost) -> Finding:
    """The host framework imports (LLaVA for the built-in host), or the error that stops it."""
    check = f"import {host.name}"
    try:
        where = host.import_framework()
    except HostEnvironmentError as err:
        return Finding(check, PROBLEM, str(err))
    except Exception as err:  # anything else the host's package code raises
        return Finding(check, PROBLEM, f"{host.name} does not import: {describe_error(err)}")
    return Finding(check, OK, where)


def check_module(name: str, needed_for: str) -> Finding:
    try:
        import_module(name)
    except Exception as err:
        return Finding(f"import {name}", PROBLEM,
                       f"{describe_error(err)} ({needed_for}); fix the package named in the error "
                       "(see the version lines above)")
    return Finding(f"import {name}", OK, "imports")


def check_deepspeed() -> Finding:
    try:
        import_module("deepspeed")
    except ModuleNotFoundError as err:
        if err.name == "deepspeed":
            return Finding("import deepspeed", INFO, "not installed; runs without --deepspeed do not need it")
        return Finding("import deepspeed", PROBLEM, f"{describe_error(err)}; LLaVA's scripts train with --deepspeed")
    except Exception as err:
        return Finding("import deepspeed", PROBLEM,
                       f"{describe_error(err)}; LLaVA's scripts train with --deepspeed: install a DeepSpeed that "
                       "imports with this torch (0.12.6 for torch 2.1.2, 0.19.8 for torch 2.13)")
    return Finding("import deepspeed", OK, "imports")


def check_torchvision() -> Finding:
    """torchvision must import; its compiled ops (`ops.nms`) are called on a tiny input."""
    try:
        torchvision = import_module("torchvision")
        import_module("torchvision.ops")
    except Exception as err:
        return Finding("import torchvision", PROBLEM,
                       f"{describe_error(err)}; open_clip, timm and transformers import torchvision: install "
                       "the torchvision built for this torch (e.g. torchvision 0.16.2 with torch 2.1.2)")
    from ..compat import torchvision_ops

    if torchvision_ops.shim_installed:
        return Finding("import torchvision", INFO,
                       "imports through the plugin's op-schema shim (socialfusion_plugin/compat/"
                       "torchvision_ops.py): its compiled ops do not load into this torch (a CUDA torchvision "
                       "next to a CPU torch); training does not use them")
    try:
        import torch

        kept = torchvision.ops.nms(torch.tensor([[0.0, 0.0, 1.0, 1.0]]), torch.tensor([1.0]), 0.5)
        assert kept.tolist() == [0], kept
    except Exception as err:
        return Finding("import torchvision", WARNING,
                       f"imports, but torchvision.ops.nms fails ({describe_error(err)}): torch and torchvision "
                       "builds do not match; training does not call these ops, detection code would")
    return Finding("import torchvision", OK, "imports; compiled ops work (torchvision.ops.nms)")


def check_imports(host: EnvironmentHost) -> List[Finding]:
    return [check_torchvision(), *(check_module(name, needed_for) for name, needed_for in REQUIRED_MODULES),
            check_deepspeed(), check_llava(host)]
