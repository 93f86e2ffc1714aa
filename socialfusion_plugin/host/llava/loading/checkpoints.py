"""Loading trained checkpoints with LLaVA's `load_pretrained_model`, deciding from a checkpoint's
FILES and loading in the asked dtype, and merging LoRA into a full model.

`file_dispatch(load_pretrained_model)` wraps LLaVA's own loader; `load_checkpoint` uses it, and the
builder patch (`patches/llava-1.2.2-model-hooks.patch`) decorates LLaVA's function with it, so stock
LLaVA scripts load the same way. What the wrapper changes, and nothing else:

- The path LLaVA takes is chosen from the files (`checkpoint_files.checkpoint_kind`): the name handed to
  LLaVA is one that selects that path, whatever the folder is called. Names that are not local
  folders (hub ids) keep LLaVA's own name rules.
- dtype: LLaVA forces float16 in `builder.py` (torch_dtype of every `from_pretrained`, the
  projector-only weights, the vision tower, the language-model-only path). While the wrapper runs,
  `torch.float16` as builder.py sees it is the dtype asked for, so the weights are loaded in that
  dtype, never round-tripped through float16. Asked for = `torch_dtype=` passed to the loader (LLaVA
  ignores it); without it, float32 when the model lands on the CPU, LLaVA's float16 otherwise.
- `torch.load` as builder.py sees it reads tensors only (`safe_load.read`, an allow-list as strict as
  `weights_only=True` that no torch default or TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD can turn off): LLaVA
  calls it without weights_only, so on torch < 2.6 a pickle in `non_lora_trainables.bin` or
  `mm_projector.bin` would otherwise run code. `non_lora_trainables.safetensors`, written beside the
  .bin by the plugin's trainer, is read instead when present. The weight files transformers and peft
  read for LLaVA (`pytorch_model*.bin`, `adapter_model.bin`) go through the same reader while the
  wrapper runs (`host_loads.host_loads_read_safely`).
- The vision tower is put on the model's device and dtype (LLaVA leaves it where it was loaded when
  `device_map="auto"`), so the tower and the connector follow the language model.
"""
from __future__ import annotations

import functools
import inspect
import os
from pathlib import Path
from typing import Any, Optional, Union

import torch

from socialfusion_plugin.errors import CheckpointError
from socialfusion_plugin.host.llava.environment.host_loads import TorchWithSafeLoad, host_loads_read_safely, swapped
from socialfusion_plugin.host.llava.loading.checkpoint_files import checkpoint_kind, inspect_checkpoint
from socialfusion_plugin.host_interface import LoadedModel
from socialfusion_plugin.safe_load import prefer_safetensors

# The name handed to LLaVA's loader for each kind: LLaVA tests substrings ('llava', 'lora', 'mpt',
# 'mistral') of it, so each must contain exactly the ones that select the kind's code path.
_LLAVA_NAME = {"lora": "llava-lora", "projector": "llava-projector", "full": "llava",
               "language-model": "language-model"}


def resolve_dtype(device: Union[str, torch.device, None],
                  dtype: Union[str, torch.dtype, None]) -> Optional[torch.dtype]:
    """The dtype the weights are loaded in: `dtype` when given; float32 when the model lands on the
    CPU; None (LLaVA's float16) on an accelerator."""
    if dtype is not None:
        if isinstance(dtype, torch.dtype):
            return dtype
        value = getattr(torch, str(dtype).replace("torch.", ""), None)
        if not isinstance(value, torch.dtype) or not value.is_floating_point:
            raise ValueError(f"unknown floating-point dtype {dtype!r} (float32, float16 or bfloat16)")
        return value
    # LLaVA's default device is "cuda" with device_map "auto": without CUDA everything loads on the CPU
    kind = torch.device(device).type if device is not None else "cuda"
    return torch.float32 if kind == "cpu" or (kind == "cuda" and not torch.cuda.is_available()) else None


class _TorchAsBuilderSees(TorchWithSafeLoad):
    """`torch` inside LLaVA's builder.py while the wrapper runs (`float16` and `load` as said above)."""

    def __init__(self, float16: torch.dtype):
        super().__init__()
        self.float16 = float16

    def load(self, f, *args, **kwargs) -> Any:
        return super().load(prefer_safetensors(f), *args, **kwargs)


def llava_model_name(kind: str, model_path) -> str:
    """A name that selects `kind`'s path in LLaVA's loader, keeping the MPT / Mistral family from
    config.json's model_type (LLaVA picks those classes by name too)."""
    name = _LLAVA_NAME[kind]
    config = inspect_checkpoint(model_path).config
    if kind == "lora" or config is None:  # LLaVA's LoRA path always builds a LLaMA
        return name
    model_type = str(config.get("model_type", "")).lower()
    family = next((family for family in ("mpt", "mistral") if family in model_type), None)
    return f"{name}-{family}" if family else name


def file_dispatch(load_pretrained_model):
    """Wrap LLaVA's `load_pretrained_model` (idempotent; the original stays as `.socialfusion_original`)."""
    if hasattr(load_pretrained_model, "socialfusion_original"):
        return load_pretrained_model
    original = load_pretrained_model
    signature = inspect.signature(original)
    var_keyword = next(p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD)
    builder_globals = inspect.unwrap(original).__globals__  # the module whose `torch` LLaVA's code reads

    @functools.wraps(original)
    def load(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        dtype = resolve_dtype(arguments["device"], arguments[var_keyword].get("torch_dtype"))
        model_path = os.path.expanduser(str(arguments["model_path"]))
        if os.path.isdir(model_path):  # a hub id keeps LLaVA's name rules
            kind = checkpoint_kind(Path(model_path), arguments["model_base"])
            arguments["model_name"] = llava_model_name(kind, model_path)
        builder_torch = _TorchAsBuilderSees(dtype or torch.float16)
        with swapped(builder_globals, "torch", builder_torch), host_loads_read_safely():
            tokenizer, model, image_processor, context_len = original(*bound.args, **bound.kwargs)
        tower = model.get_vision_tower() if hasattr(model, "get_vision_tower") else None
        if tower is not None and getattr(tower, "is_loaded", False):
            tower.to(device=model.device, dtype=model.dtype)
        return tokenizer, model, image_processor, context_len

    load.socialfusion_original = original
    return load


def load_checkpoint(model_path, model_base: Optional[str] = None, device: str = "cpu",
                    dtype: Optional[str] = None) -> LoadedModel:
    """LLaVA's loader on a LoRA (+ base), connector-only (+ base), merged/full checkpoint or plain language model."""
    from socialfusion_plugin.host.llava.environment.model_hooks import install_model_hooks

    install_model_hooks()
    from llava.model import builder

    kind = checkpoint_kind(Path(model_path), model_base)
    # a patched builder's function is wrapped already (file_dispatch then returns it as it is)
    tokenizer, model, image_processor, context_len = file_dispatch(builder.load_pretrained_model)(
        str(model_path),
        model_base,
        str(model_path),  # the kind comes from the files; LLaVA gets a name that selects it
        device=device,  # LLaVA maps any non-"cuda" device to device_map={"": device} itself
        torch_dtype=resolve_dtype(device, dtype),
    )
    model.eval()
    if tokenizer.pad_token is None:
        # LLaVA's train() pads with <unk> (LLaMA tokenizers have no pad token); a LoRA checkpoint's
        # tokenizer comes from model_base, unchanged, so batched inference needs the same choice.
        tokenizer.pad_token = tokenizer.unk_token
    return LoadedModel(tokenizer, model, image_processor, context_len, kind)


def merge_lora(model_path, model_base: str, out_dir, device: str = "cpu", dtype: Optional[str] = None) -> Path:
    """Write a merged checkpoint that LLaVA loads without model_base, in `dtype`. The frozen tower's
    weights are not copied: the tower is rebuilt from `mm_vision_tower` like in every other checkpoint."""
    if checkpoint_kind(Path(model_path), model_base) != "lora":
        raise CheckpointError(f"{model_path} is not a LoRA checkpoint of a LLaVA model; nothing to merge")
    loaded = load_checkpoint(model_path, model_base, device=device, dtype=dtype)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = loaded.model
    state = {k: v for k, v in model.state_dict().items() if ".vision_tower." not in f".{k}"}
    model.config.use_cache = True
    model.save_pretrained(out_dir, state_dict=state, safe_serialization=True)
    loaded.tokenizer.save_pretrained(out_dir)
    return out_dir
