"""A LLaVA model whose connector and LoRA parameters are TRAINABLE, built from a checkpoint folder,
for diagnostics that need gradients (`socialfusion conflict`). Not merged, not for inference.

Three kinds of --model-path, decided from the files (never from the folder name):
- "lora": a LoRA run's output or `checkpoint-N/` (adapter_config.json + adapter weights +
  non_lora_trainables.bin + config.json). The model is rebuilt with `build_model` from the
  checkpoint's own config (mm_vision_tower, mm_projector_type, mm_vision_select_layer/feature;
  LoRA r/alpha from adapter_config.json), then the adapter weights are loaded into the LoRA modules
  by peft (`load_peft_weights` + `set_peft_model_state_dict`, its reads going through
  `safe_load.read`) and non_lora_trainables.safetensors (or, in checkpoints without it, .bin) into
  the connector; every saved key must match a parameter of the same shape and every LoRA/connector
  parameter must be covered, or it is an error.
- "full": a merged or full LLaVA checkpoint (config.json with mm_vision_tower, no adapter): its
  trained connector is loaded with the model, and a FRESH LoRA is attached.
- "base": a plain language model (no mm_vision_tower): --vision-tower is required; the connector is
  freshly initialized (seeded) and a fresh LoRA is attached.
A fresh LoRA has B = 0 (peft's initialization), so the gradients of its A matrices are exactly zero
and only B and the connector carry signal.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import torch

from socialfusion_plugin.host.llava.loading.checkpoint_files import ADAPTER_CONFIG, ADAPTER_WEIGHTS, NON_LORA_FILE, inspect_checkpoint
from socialfusion_plugin.errors import CheckpointError
from socialfusion_plugin.host.llava.environment.host_loads import host_loads_read_safely
from socialfusion_plugin.host.llava.environment.llava_modules import CONNECTOR_MODULE, LORA_MARK
from socialfusion_plugin.host.llava.diagnostics.model_factory import BuiltModel, ModelSpec, build_model
from socialfusion_plugin.safe_load import prefer_safetensors
from socialfusion_plugin.host.llava.loading.state_copy import copy_exact, mismatch_error, read_tensor_file


@dataclass
class TrainableModel:
    built: BuiltModel
    kind: str  # "lora", "full" or "base"
    loaded_keys: Dict[str, int]  # file -> number of tensors loaded into the model


def checkpoint_kind(model_path: Path) -> str:
    contents = inspect_checkpoint(model_path)
    if contents.config is None:
        raise CheckpointError(f"{model_path}: no config.json (expected a LLaVA checkpoint or a language model folder)")
    if contents.has_adapters:
        return "lora"
    return "full" if contents.multimodal else "base"


def load_trainable_model(model_path, model_base: Optional[str] = None, vision_tower: Optional[str] = None,
                         version: str = "v1", lora_r: int = 8, lora_alpha: int = 16,
                         projector_type: str = "mlp2x_gelu", select_layer: int = -2,
                         dtype: torch.dtype = torch.float32, seed: int = 0) -> TrainableModel:
    model_path = Path(model_path)
    kind = checkpoint_kind(model_path)
    config = inspect_checkpoint(model_path).config
    torch.manual_seed(seed)  # fresh connector / LoRA A initialization is part of the diagnostic's inputs
    if kind == "base":
        if not vision_tower:
            raise CheckpointError(f"{model_path} is a plain language model: pass --vision-tower")
        spec = ModelSpec(model_name_or_path=str(model_path), vision_tower=vision_tower, mm_projector_type=projector_type,
                         mm_vision_select_layer=select_layer, version=version, lora_r=lora_r, lora_alpha=lora_alpha)
        return TrainableModel(_build(spec, dtype), kind, {})
    tower = config["mm_vision_tower"] if "mm_vision_tower" in config else None
    if tower is None:
        raise CheckpointError(f"{model_path / 'config.json'} has no mm_vision_tower: not a LLaVA checkpoint")
    if vision_tower and vision_tower != tower:
        raise CheckpointError(f"--vision-tower {vision_tower} differs from the checkpoint's mm_vision_tower {tower}")
    common = dict(vision_tower=tower, mm_projector_type=config.get("mm_projector_type", "linear"),
                  mm_vision_select_layer=int(config.get("mm_vision_select_layer", -2)),
                  mm_vision_select_feature=config.get("mm_vision_select_feature", "patch"), version=version)
    if kind == "full":
        spec = ModelSpec(model_name_or_path=str(model_path), lora_r=lora_r, lora_alpha=lora_alpha, **common)
        return TrainableModel(_build(spec, dtype), kind, {})
    adapter = json.loads((model_path / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    base = model_base or adapter.get("base_model_name_or_path")
    if not base or not (Path(base) / "config.json").is_file():
        raise CheckpointError(f"{model_path} holds LoRA adapters: pass the base language model folder with --model-base "
                              f"(adapter_config.json names {adapter.get('base_model_name_or_path')!r})")
    spec = ModelSpec(model_name_or_path=str(base), lora_r=int(adapter["r"]), lora_alpha=int(adapter["lora_alpha"]),
                     lora_dropout=0.0, **common)  # no dropout: the diagnostic is deterministic
    built = _build(spec, dtype)
    connector = prefer_safetensors(model_path / NON_LORA_FILE)  # the .safetensors twin when written
    loaded = {_adapter_file(model_path).name: _load_lora(built.model, model_path),
              connector.name: _load_connector(built.model, connector)}
    return TrainableModel(built, kind, loaded)


def _build(spec: ModelSpec, dtype: torch.dtype) -> BuiltModel:
    with host_loads_read_safely():  # pytorch_model*.bin of the language model: through safe_load.read
        return build_model(spec, dtype=dtype)


def _adapter_file(model_path: Path) -> Path:
    for name in ADAPTER_WEIGHTS:
        if (model_path / name).is_file():
            return model_path / name
    raise CheckpointError(f"{model_path}: adapter_config.json but no {' or '.join(ADAPTER_WEIGHTS)}")


def _load_lora(model, model_path: Path) -> int:
    """peft reads the adapter file (safetensors first) and puts it into the LoRA modules; then every
    saved key must have found its parameter, and every LoRA parameter its key."""
    from peft import set_peft_model_state_dict
    from peft.utils import load_peft_weights

    path = _adapter_file(model_path)
    with host_loads_read_safely():  # adapter_model.bin: through safe_load.read, never unpickling code
        saved = load_peft_weights(str(model_path), device="cpu")
    try:
        result = set_peft_model_state_dict(model, saved)
    except RuntimeError as err:  # load_state_dict's size mismatch, one line per parameter
        raise CheckpointError(f"{path}: {str(err).strip().splitlines()[-1].strip()}") from None
    lora = {name for name, _ in model.named_parameters() if LORA_MARK in name}
    uncovered = sorted(name for name in result.missing_keys if name in lora)
    if result.unexpected_keys or uncovered:
        raise mismatch_error(path, sorted(result.unexpected_keys), uncovered)
    return len(saved)


def _load_connector(model, path: Path) -> int:
    if not path.is_file():
        raise CheckpointError(f"{path} not found: the checkpoint has LoRA adapters but not the trained connector")
    params = {name: p for name, p in model.named_parameters() if CONNECTOR_MODULE in name}
    return copy_exact(params, read_tensor_file(path), path)
