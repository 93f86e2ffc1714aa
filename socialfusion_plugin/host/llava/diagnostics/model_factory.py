"""Building a SocialFusion model in-process, in the same order as LLaVA's `train()`, turning LLaVA
records into a batch with LLaVA's own preprocessing, and rebuilding a checkpoint's model with its
connector and LoRA parameters TRAINABLE, for diagnostics that need gradients (`socialfusion conflict`;
not merged, not for inference).

`socialfusion train` runs LLaVA's `train()` itself; this path is for code that needs the model
object without a Trainer: gradient diagnostics, tests, notebooks.

Three kinds of --model-path, decided from the files (never from the folder name):
- "lora": a LoRA run's output or `checkpoint-N/` (adapter_config.json + adapter weights +
  non_lora_trainables.bin + config.json). The model is rebuilt from the checkpoint's own config and
  adapter_config.json, then the adapter weights (read by peft through `safe_load.read`) and the
  connector are loaded; every saved key must match a parameter of the same shape and every
  LoRA/connector parameter must be covered, or it is an error.
- "full": a merged or full LLaVA checkpoint (config.json with mm_vision_tower, no adapter): its
  trained connector is loaded with the model, and a FRESH LoRA is attached.
- "base": a plain language model (no mm_vision_tower): --vision-tower is required; the connector is
  freshly initialized (seeded) and a fresh LoRA is attached.
A fresh LoRA has B = 0 (peft's initialization), so the gradients of its A matrices are exactly zero
and only B and the connector carry signal.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence

import torch

from socialfusion_plugin.errors import CheckpointError, UserInputError
from socialfusion_plugin.host.llava.environment.host_loads import host_loads_read_safely
from socialfusion_plugin.host.llava.environment.llava_modules import (CONNECTOR_MODULE, LORA_MARK,
                                                                      language_model_lora_targets)
from socialfusion_plugin.host.llava.environment.tokenization import (conversation_template, preprocess_record,
                                                                     template_named)
from socialfusion_plugin.host.llava.loading.checkpoint_files import (ADAPTER_CONFIG, ADAPTER_WEIGHTS, NON_LORA_FILE,
                                                                     copy_exact, inspect_checkpoint, mismatch_error)
from socialfusion_plugin.host.llava.training.install import install_train_hooks
from socialfusion_plugin.host.llava.training.trainer import enforce_frozen_tower
from socialfusion_plugin.safe_load import prefer_safetensors


@dataclass
class ModelSpec:
    model_name_or_path: str
    vision_tower: str
    mm_projector_type: str = "mlp2x_gelu"
    mm_vision_select_layer: int = -2
    mm_vision_select_feature: str = "patch"
    version: str = "v1"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    model_max_length: int = 512
    lora: bool = True

    def __post_init__(self):
        if self.mm_vision_select_feature not in ("patch", "cls_patch"):
            raise UserInputError("mm_vision_select_feature must be patch or cls_patch, "
                                 f"got {self.mm_vision_select_feature!r}")
        if self.lora and self.lora_r <= 0:
            raise UserInputError("lora_r must be positive")


@dataclass
class BuiltModel:
    model: Any
    tokenizer: Any
    image_processor: Any
    spec: ModelSpec


@host_loads_read_safely()  # pytorch_model*.bin of the language model: through safe_load.read
def build_model(spec: ModelSpec, dtype: torch.dtype = torch.float32) -> BuiltModel:
    install_train_hooks()  # builders know our tower/connectors; the mismatch guard is on
    import transformers
    from llava.model import LlavaLlamaForCausalLM

    model = LlavaLlamaForCausalLM.from_pretrained(spec.model_name_or_path, torch_dtype=dtype)
    model.config.use_cache = False
    if spec.lora:
        from peft import LoraConfig, get_peft_model

        lora_config = LoraConfig(r=spec.lora_r, lora_alpha=spec.lora_alpha, lora_dropout=spec.lora_dropout,
                                 target_modules=language_model_lora_targets(model), bias="none", task_type="CAUSAL_LM")
        model = get_peft_model(model, lora_config)
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        spec.model_name_or_path, model_max_length=spec.model_max_length, padding_side="right", use_fast=False)
    tokenizer.pad_token = tokenizer.unk_token
    template_named(spec.version)  # an unknown --version fails before the tower is built
    model_args = SimpleNamespace(vision_tower=spec.vision_tower, mm_vision_select_layer=spec.mm_vision_select_layer,
                                 mm_vision_select_feature=spec.mm_vision_select_feature, pretrain_mm_mlp_adapter=None,
                                 mm_patch_merge_type="flat", mm_projector_type=spec.mm_projector_type)
    base = model.get_base_model() if spec.lora else model
    base.get_model().initialize_vision_modules(model_args=model_args, fsdp=None)
    tower = base.get_vision_tower()
    tower.to(dtype=dtype)
    base.config.update(dict(image_aspect_ratio="square", tokenizer_padding_side=tokenizer.padding_side,
                            tokenizer_model_max_length=tokenizer.model_max_length, mm_use_im_start_end=False,
                            mm_use_im_patch_token=False))
    base.get_model().mm_projector.requires_grad_(True).to(dtype=dtype)
    enforce_frozen_tower(model)
    return BuiltModel(model=model, tokenizer=tokenizer, image_processor=tower.image_processor, spec=spec)


def make_batch(built: BuiltModel, records: Sequence[Dict[str, Any]],
               image_folder: Optional[str] = None) -> Dict[str, Any]:
    """A training batch from LLaVA records, through LLaVA's preprocess (with the model's conversation
    template, set for this call only) and collator."""
    from PIL import Image

    train_module = install_train_hooks()
    instances: List[Dict[str, Any]] = []
    with conversation_template(built.spec.version):
        for record in records:
            instance: Dict[str, Any] = {}
            has_image = "image" in record
            if has_image:
                path = record["image"] if image_folder is None else os.path.join(image_folder, record["image"])
                image = Image.open(path).convert("RGB")
                instance["image"] = built.image_processor.preprocess(image, return_tensors="pt")["pixel_values"][0]
            instance["input_ids"], instance["labels"] = preprocess_record(
                train_module, built.tokenizer, record["conversations"], has_image)
            instances.append(instance)
    collator = train_module.DataCollatorForSupervisedDataset(tokenizer=built.tokenizer)
    return collator(instances)


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
        common = dict(vision_tower=vision_tower, mm_projector_type=projector_type, mm_vision_select_layer=select_layer)
    else:
        tower = config.get("mm_vision_tower")
        if tower is None:
            raise CheckpointError(f"{model_path / 'config.json'} has no mm_vision_tower: not a LLaVA checkpoint")
        if vision_tower and vision_tower != tower:
            raise CheckpointError(f"--vision-tower {vision_tower} differs from the checkpoint's mm_vision_tower "
                                  f"{tower}")
        common = dict(vision_tower=tower, mm_projector_type=config.get("mm_projector_type", "linear"),
                      mm_vision_select_layer=int(config.get("mm_vision_select_layer", -2)),
                      mm_vision_select_feature=config.get("mm_vision_select_feature", "patch"))
    if kind != "lora":
        spec = ModelSpec(model_name_or_path=str(model_path), version=version, lora_r=lora_r, lora_alpha=lora_alpha,
                         **common)
        return TrainableModel(build_model(spec, dtype), kind, {})
    adapter = json.loads((model_path / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    base = model_base or adapter.get("base_model_name_or_path")
    if not base or not (Path(base) / "config.json").is_file():
        raise CheckpointError(f"{model_path} holds LoRA adapters: pass the base language model folder with "
                              f"--model-base (adapter_config.json names {adapter.get('base_model_name_or_path')!r})")
    # no dropout: the diagnostic is deterministic
    spec = ModelSpec(model_name_or_path=str(base), version=version, lora_r=int(adapter["r"]),
                     lora_alpha=int(adapter["lora_alpha"]), lora_dropout=0.0, **common)
    built = build_model(spec, dtype)
    lora_count = _load_lora(built.model, model_path)
    connector = prefer_safetensors(model_path / NON_LORA_FILE)  # the .safetensors twin when written
    if not connector.is_file():
        raise CheckpointError(f"{connector} not found: the checkpoint has LoRA adapters but not the trained connector")
    params = {name: p for name, p in built.model.named_parameters() if CONNECTOR_MODULE in name}
    loaded = {_adapter_file(model_path).name: lora_count, connector.name: copy_exact(params, connector)}
    return TrainableModel(built, kind, loaded)


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
