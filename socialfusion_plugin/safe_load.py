"""Reading checkpoint files without running code that a pickle in them carries, on every supported torch.

`torch.load` unpickles, and a pickle can call any importable function. torch's own guard
(`weights_only=True`) does not cover the plugin's paths by itself: torch < 2.6 (LLaVA's pins: 2.1.2)
defaults to `weights_only=False` and LLaVA's builder, transformers' resume (rng_state.pth,
optimizer.pt, scheduler.pt) and DeepSpeed call it without the flag or with `weights_only=False`;
`TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1` makes unflagged calls unsafe on torch >= 2.6; and an RNG state
holds numpy arrays, which weights_only refuses unless they are allow-listed (torch >= 2.5 only).

`read(path, kind)` is how every such file is read here:
- `.safetensors`: with safetensors, which holds tensors only;
- otherwise the pickle is read by an Unpickler that hands out exactly the globals `kind` allows and
  refuses any other with `UnsafeFileError` before anything is called (`restricted_pickle_module`),
  whatever the weights_only flag, its default, or TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD say;
- with TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 torch refuses any custom Unpickler; its own weights-only
  reader is used then, with the kind's extra globals allowed where torch can (>= 2.5).
Every global allowed builds data (tensors, containers, dtypes, numpy arrays, DeepSpeed's loss-scaler
and bookkeeping records); none of them runs code named by the file.
"""
from __future__ import annotations

import _codecs
import _compat_pickle
import collections
import contextlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict

import torch

from .errors import CheckpointError


class UnsafeFileError(CheckpointError):
    """A checkpoint file whose pickle needs more than the data it is supposed to hold; nothing ran."""


class _Refused(pickle.UnpicklingError):
    """What the pickle would have done: its message completes 'its pickle would ...'."""


def tensor_globals() -> Dict[str, Any]:
    """What a state dict, an optimizer or a scheduler state pickles to, on the running torch."""
    names: Dict[str, Any] = {
        "collections.OrderedDict": collections.OrderedDict,
        "_codecs.encode": _codecs.encode,  # bytes, in torch.save's pickle protocol 2
        "builtins.set": set,
        "torch.Size": torch.Size,
        "torch.device": torch.device,
        "torch.Tensor": torch.Tensor,
        "torch.nn.parameter.Parameter": torch.nn.Parameter,
        "torch._tensor._rebuild_from_type_v2": torch._tensor._rebuild_from_type_v2,  # a tensor with attributes
    }
    for name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
                 "_rebuild_parameter_with_state"):
        if hasattr(torch._utils, name):
            names[f"torch._utils.{name}"] = getattr(torch._utils, name)
    for value in vars(torch).values():
        if isinstance(value, torch.dtype):
            names[str(value)] = value
    return names


def numpy_rng_globals() -> Dict[str, Any]:
    """numpy's random state (an uint32 array) as the running numpy pickles it, and as numpy 1.x and
    2.x name `_reconstruct` (a checkpoint may come from the other major version)."""
    import importlib

    import numpy as np

    # numpy 1.26 has a `numpy._core` stub too (for numpy 2 pickles): decide by the major version
    numpy2 = int(np.__version__.split(".")[0]) >= 2
    multiarray = importlib.import_module("numpy._core.multiarray" if numpy2 else "numpy.core.multiarray")
    names = {"numpy.core.multiarray._reconstruct": multiarray._reconstruct,
             "numpy._core.multiarray._reconstruct": multiarray._reconstruct,
             "numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    dtype_class = type(np.dtype(np.uint32))
    names[f"{dtype_class.__module__}.{dtype_class.__name__}"] = dtype_class
    return names


def deepspeed_globals() -> Dict[str, Any]:
    """DeepSpeed's checkpoint records beyond tensors (ZeRO-2/3 optimizer states of 0.12 and 0.19)."""
    from deepspeed.runtime.fp16 import loss_scaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    classes = [loss_scaler.LossScaler, loss_scaler.DynamicLossScaler, ZeroStageEnum, fragment_address]
    return {f"{cls.__module__}.{cls.__qualname__}": cls for cls in classes}


@dataclass(frozen=True)
class FileKind:
    """What a kind of file holds: named in refusals; `extra_globals` beyond `tensor_globals`."""
    holds: str
    extra_globals: Callable[[], Dict[str, Any]]


TENSORS = FileKind("tensors in plain containers", dict)
RNG_STATE = FileKind("tensors and numpy random states", numpy_rng_globals)
DEEPSPEED_STATE = FileKind("tensors and DeepSpeed's loss-scaler and partition records", deepspeed_globals)


def restricted_pickle_module(allowed: Dict[str, Any]) -> SimpleNamespace:
    """A `pickle_module` for torch.load whose Unpickler resolves only the names in `allowed`, and
    sets state (BUILD) only on objects the pickle created, never on an allowed class or function
    itself (which would change it for the whole process). Built on pickle's pure-Python Unpickler,
    whose opcodes can be overridden; a torch file's pickle holds only the structure, not the tensor bytes."""
    allowed_ids = {id(obj) for obj in allowed.values()}

    class RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
        dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

        def find_class(self, module: str, name: str) -> Any:
            # protocol-2 pickles carry Python 2 names (`__builtin__.set`); map them as pickle does
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
            key = f"{module}.{name}"
            if key not in allowed:
                raise _Refused(f"call {key}")
            return allowed[key]

        def load_build(self):
            target = self.stack[-2]  # the stack ends with (object, state)
            if id(target) in allowed_ids or isinstance(target, type):
                name = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', target)}"
                raise _Refused(f"set attributes of {name}")
            pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]

        dispatch[pickle.BUILD[0]] = load_build

    def load(file, **kwargs):
        return RestrictedUnpickler(file, **kwargs).load()

    return SimpleNamespace(__name__="socialfusion_restricted_pickle", Unpickler=RestrictedUnpickler, load=load,
                           UnpicklingError=pickle.UnpicklingError)


def read(path, kind: FileKind = TENSORS, map_location: Any = "cpu", mmap: bool = False) -> Any:
    """The contents of a checkpoint file, never running code from it (see the module docstring)."""
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        device = str(map_location) if isinstance(map_location, (str, torch.device)) else "cpu"
        return load_file(str(path), device=device)
    extra = {"mmap": True} if mmap else {}
    # TORCH_FORCE_WEIGHTS_ONLY_LOAD as torch reads it: torch.load then refuses any pickle_module
    if os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in ("1", "y", "yes", "true"):
        return _read_weights_only(path, kind, map_location, extra)
    try:
        allowed = {**tensor_globals(), **kind.extra_globals()}
        return torch.load(path, map_location=map_location, pickle_module=restricted_pickle_module(allowed),
                          weights_only=False, **extra)
    except _Refused as err:
        raise UnsafeFileError(f"{path}: refused to load it: its pickle would {err}, and such a file holds only "
                              f"{kind.holds} (read with an allow-list, as weights_only=True reads, whatever "
                              "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD says); nothing in it was run") from None


def _read_weights_only(path, kind: FileKind, map_location, extra) -> Any:
    extras = list({id(obj): obj for obj in kind.extra_globals().values()}.values())
    allow = getattr(torch.serialization, "safe_globals", None)
    scope = allow(extras) if extras and allow is not None else contextlib.nullcontext()
    try:
        with scope:
            return torch.load(path, map_location=map_location, weights_only=True, **extra)
    except pickle.UnpicklingError as err:
        reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise UnsafeFileError(f"{path}: refused to load it (weights_only=True, as TORCH_FORCE_WEIGHTS_ONLY_LOAD asks): "
                              f"{reason}; nothing in it was run") from None


def read_state_dict(path, kind: FileKind = TENSORS) -> Dict[str, torch.Tensor]:
    state = read(path, kind)
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict of tensors, found {type(state).__name__}")
    return state


def prefer_safetensors(path) -> Path:
    """`X.safetensors` when it lies beside the asked-for `X.bin` (both hold the same tensors)."""
    path = Path(path)
    twin = path.with_suffix(".safetensors")
    return twin if path.suffix == ".bin" and twin.is_file() else path
