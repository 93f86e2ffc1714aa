"""Building a SocialFusion model in-process, in the same order as LLaVA's `train()`, and turning
LLaVA records into a batch with LLaVA's own preprocessing.

`socialfusion train` runs LLaVA's `train()` itself; this path is for code that needs the model
object without a Trainer: gradient diagnostics, tests, notebooks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Sequence

import torch

from socialfusion_plugin.host.llava.environment.llava_modules import language_model_lora_targets
from socialfusion_plugin.host.llava.environment.record_preprocessing import conversation_template, preprocess_record, template_of
from socialfusion_plugin.errors import UserInputError


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
            raise UserInputError(f"mm_vision_select_feature must be patch or cls_patch, got {self.mm_vision_select_feature!r}")
        if self.lora and self.lora_r <= 0:
            raise UserInputError("lora_r must be positive")


@dataclass
class BuiltModel:
    model: Any
    tokenizer: Any
    image_processor: Any
    spec: ModelSpec


def build_model(spec: ModelSpec, dtype: torch.dtype = torch.float32) -> BuiltModel:
    from socialfusion_plugin.host.llava.training.install import install_train_hooks

    install_train_hooks()  # builders know our tower/connectors; the mismatch guard is on
    import transformers
    from llava import conversation as conversation_lib
    from llava.model import LlavaLlamaForCausalLM

    model = LlavaLlamaForCausalLM.from_pretrained(spec.model_name_or_path, torch_dtype=dtype)
    model.config.use_cache = False
    if spec.lora:
        from peft import LoraConfig, get_peft_model

        lora_config = LoraConfig(
            r=spec.lora_r,
            lora_alpha=spec.lora_alpha,
            target_modules=language_model_lora_targets(model),
            lora_dropout=spec.lora_dropout,
            bias="none",
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora_config)
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        spec.model_name_or_path, model_max_length=spec.model_max_length, padding_side="right", use_fast=False
    )
    tokenizer.pad_token = tokenizer.unk_token
    template_of(conversation_lib, spec.version)  # an unknown --version fails before the tower is built
    model_args = SimpleNamespace(
        vision_tower=spec.vision_tower,
        mm_vision_select_layer=spec.mm_vision_select_layer,
        mm_vision_select_feature=spec.mm_vision_select_feature,
        pretrain_mm_mlp_adapter=None,
        mm_patch_merge_type="flat",
        mm_projector_type=spec.mm_projector_type,
    )
    base = model.get_base_model() if spec.lora else model
    base.get_model().initialize_vision_modules(model_args=model_args, fsdp=None)
    tower = base.get_vision_tower()
    tower.to(dtype=dtype)
    base.config.image_aspect_ratio = "square"
    base.config.tokenizer_padding_side = tokenizer.padding_side
    base.config.tokenizer_model_max_length = tokenizer.model_max_length
    base.config.mm_use_im_start_end = False
    base.config.mm_use_im_patch_token = False
    for param in base.get_model().mm_projector.parameters():
        param.requires_grad = True
    base.get_model().mm_projector.to(dtype=dtype)
    from socialfusion_plugin.host.llava.training.trainer import enforce_frozen_tower

    enforce_frozen_tower(model)
    return BuiltModel(model=model, tokenizer=tokenizer, image_processor=tower.image_processor, spec=spec)


def make_batch(built: BuiltModel, records: Sequence[Dict[str, Any]], image_folder: Optional[str] = None) -> Dict[str, Any]:
    """A training batch from LLaVA records, through LLaVA's preprocess (with the model's conversation
    template, set for this call only) and collator."""
    from PIL import Image

    from socialfusion_plugin.host.llava.training.install import install_train_hooks

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
