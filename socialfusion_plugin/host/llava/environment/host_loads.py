"""Where the host's own `torch.load` calls are pointed at `safe_load.read`, without editing the host.

LLaVA, transformers and peft call `torch.load` (or a helper around it) through names they look up in
their module globals when called. Replacing such a name for the duration of one load (`swapped`) or,
for LLaVA's `llava_arch`, for good (`install_safe_torch_load`) makes those loads go through the
plugin's reader; every other torch name stays torch's own.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Dict, Iterator

import torch

from socialfusion_plugin.safe_load import TENSORS, FileKind, read

_swap_lock = threading.RLock()
_ABSENT = object()


class TorchWithSafeLoad:
    """Stands for the `torch` module inside one module of the host: `load` is `read` with `kind`;
    every other name is torch's own."""

    def __init__(self, kind: FileKind = TENSORS):
        self._kind = kind

    def load(self, f, map_location=None, *_args, mmap=None, **_ignored):
        return read(f, self._kind, map_location=map_location, mmap=bool(mmap))

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


@contextlib.contextmanager
def swapped(namespace: Dict[str, Any], name: str, value: Any) -> Iterator[None]:
    """`namespace[name]` is `value` within (a module's globals or an object's `vars`: what its functions
    look up when called); a name the namespace did not hold is removed again afterwards."""
    with _swap_lock:
        before = namespace.get(name, _ABSENT)
        namespace[name] = value
        try:
            yield
        finally:
            if before is _ABSENT:
                del namespace[name]
            else:
                namespace[name] = before


def install_safe_torch_load(module) -> None:
    """For good (idempotent): `torch.load` as `module` sees it reads tensors only. For LLaVA's
    `llava.model.llava_arch`, whose `--pretrain_mm_mlp_adapter` load has no weights_only."""
    if not isinstance(module.torch, TorchWithSafeLoad):
        module.torch = TorchWithSafeLoad()


def _state_dict_reader(original):
    """transformers' `modeling_utils.load_state_dict`: safetensors as before, pickles through `read`."""

    def load_state_dict(checkpoint_file):
        if str(checkpoint_file).endswith(".safetensors"):
            return original(checkpoint_file)
        import zipfile

        return read(checkpoint_file, TENSORS, map_location="cpu", mmap=zipfile.is_zipfile(checkpoint_file))

    return load_state_dict


def _peft_reader(*args, map_location=None, **kwargs):
    """peft's `torch_load` (adapter_model.bin), through `read`."""
    path = args[0] if args else kwargs.pop("f")
    return read(path, TENSORS, map_location=map_location)


@contextlib.contextmanager
def host_loads_read_safely() -> Iterator[None]:
    """Within: the weight files transformers' `from_pretrained` and peft's adapter loading read
    (`pytorch_model*.bin`, `adapter_model.bin`) go through `read`. Both already pass weights_only=True;
    this makes them independent of the flag and names the file in a refusal."""
    from transformers import modeling_utils

    with contextlib.ExitStack() as stack:
        stack.enter_context(swapped(vars(modeling_utils), "load_state_dict",
                                    _state_dict_reader(modeling_utils.load_state_dict)))
        try:
            from peft.utils import save_and_load
        except ImportError:  # no peft: nothing loads adapters
            save_and_load = None
        if hasattr(save_and_load, "torch_load"):
            stack.enter_context(swapped(vars(save_and_load), "torch_load", _peft_reader))
        yield
