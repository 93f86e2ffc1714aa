"""What the probe knows about Hugging Face vision towers, as data: tower families (CLIP, SigLIP) and
VLM checkpoint formats (LLaVA-1.5-hf, LLaVA-NeXT-hf, LLaVA-OneVision-hf, PaliGemma).

The tower is always built from `vision_config` with the family's own class (CLIPVisionModel,
SiglipVisionModel), so a VLM whose own classes are newer than the installed transformers
(LLaVA-OneVision, PaliGemma on 4.37.2) is read all the same. Outside packages add either with
`TOWER_FAMILIES.register(...)` / `VLM_FORMATS.register(...)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

from ...registry import Registry

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIGLIP_MEAN = SIGLIP_STD = (0.5, 0.5, 0.5)
# saved by transformers >= 4.52 under the composite model's `model.` (older saves, and the released
# llava-hf / PaliGemma checkpoints, have the tower at the top level)
VLM_TOWER_PREFIXES = ("vision_tower.", "model.vision_tower.")


@dataclass(frozen=True)
class TowerFamily:
    name: str = field(metadata={"help": "lowercase registry name, e.g. clip"})
    label: str = field(metadata={"help": "readable name, e.g. CLIP"})
    vision_types: Tuple[str, ...] = field(metadata={"help": "vision config model_type(s), e.g. clip_vision_model"})
    model_types: Tuple[str, ...] = field(metadata={"help": "model_type(s) of a folder holding this tower alone"})
    config_class: str = field(metadata={"help": "transformers config class of the tower, e.g. CLIPVisionConfig"})
    model_class: str = field(metadata={"help": "transformers model class of the tower, e.g. CLIPVisionModel"})
    class_token: bool = field(metadata={"help": "whether token 0 of every layer is a class token"})
    unread_modules: Tuple[str, ...] = field(
        metadata={"help": "modules under vision_model. the probe never reads; a checkpoint may lack them"})
    default_mean: Tuple[float, float, float] = OPENAI_CLIP_MEAN
    default_std: Tuple[float, float, float] = OPENAI_CLIP_STD
    default_center_crop: bool = field(default=True, metadata={
        "help": "without preprocessor_config.json: resize the shortest side and center-crop (True) "
                "or resize to a square (False)"})

    def make_config(self, vision_config: Dict[str, Any]):
        """The tower's config object (no weights, no module): what --layers and preprocessing read."""
        import transformers

        return getattr(transformers, self.config_class)(**vision_config)

    def make_model(self, config):
        import transformers

        return getattr(transformers, self.model_class)(config)

    def __post_init__(self):
        if not self.vision_types:
            raise ValueError(f"tower family {self.name!r}: vision_types is empty")


@dataclass(frozen=True)
class VlmFormat:
    model_type: str = field(metadata={"help": "config.json model_type"})
    label: str = field(metadata={"help": "readable name, e.g. LLaVA-OneVision-hf"})
    architectures: Tuple[str, ...] = field(metadata={"help": "config.json architectures this format writes"})
    default_tower: str = field(metadata={"help": "tower family when vision_config names no model_type"})
    key_prefixes: Tuple[str, ...] = VLM_TOWER_PREFIXES
    reads: Optional[str] = field(default=None, metadata={
        "help": "config key naming the tower layer the VLM reads, or None (see reads_note)"})
    reads_note: str = ""

    def __post_init__(self):
        if not self.architectures or not self.key_prefixes:
            raise ValueError(f"VLM format {self.model_type!r}: architectures and key_prefixes must not be empty")

    def read_layer(self, config: Dict[str, Any]) -> str:
        """What the VLM itself reads of its tower, in the probe's layer indexing, for the description."""
        if self.reads and self.reads in config:
            return f"the VLM reads layer {config[self.reads]} ({self.reads})"
        return self.reads_note


TOWER_FAMILIES: Registry = Registry("vision tower family")
TOWER_FAMILIES.register("clip", TowerFamily(
    name="clip", label="CLIP", vision_types=("clip_vision_model",), model_types=("clip", "clip_vision_model"),
    config_class="CLIPVisionConfig", model_class="CLIPVisionModel", class_token=True,
    unread_modules=("post_layernorm",)))
TOWER_FAMILIES.register("siglip", TowerFamily(
    name="siglip", label="SigLIP", vision_types=("siglip_vision_model",), model_types=("siglip", "siglip_vision_model"),
    # SiglipVisionModel is in transformers >= 4.37.0
    config_class="SiglipVisionConfig", model_class="SiglipVisionModel", class_token=False,
    # LLaVA-OneVision and PaliGemma drop the attention-pooling head (vision_use_head=False)
    unread_modules=("post_layernorm", "head"),
    default_mean=SIGLIP_MEAN, default_std=SIGLIP_STD, default_center_crop=False))

VLM_FORMATS: Registry = Registry("VLM checkpoint format")
VLM_FORMATS.register("llava", VlmFormat(
    model_type="llava", label="LLaVA-1.5-hf", architectures=("LlavaForConditionalGeneration",),
    default_tower="clip", reads="vision_feature_layer"))
VLM_FORMATS.register("llava_next", VlmFormat(
    model_type="llava_next", label="LLaVA-NeXT-hf", architectures=("LlavaNextForConditionalGeneration",),
    default_tower="clip", reads="vision_feature_layer"))
VLM_FORMATS.register("llava_onevision", VlmFormat(
    model_type="llava_onevision", label="LLaVA-OneVision-hf",
    architectures=("LlavaOnevisionForConditionalGeneration",), default_tower="siglip", reads="vision_feature_layer"))
VLM_FORMATS.register("paligemma", VlmFormat(
    model_type="paligemma", label="PaliGemma", architectures=("PaliGemmaForConditionalGeneration",),
    default_tower="siglip",
    reads_note="the VLM reads the last block after post_layernorm (the probe's -1 is before it)"))


def _first_family(matches: Callable[[TowerFamily], bool]) -> Optional[TowerFamily]:
    return next((family for family in map(TOWER_FAMILIES.get, TOWER_FAMILIES.names()) if matches(family)), None)


def family_of_vision_type(vision_type: str) -> Optional[TowerFamily]:
    return _first_family(lambda family: vision_type in family.vision_types)


def family_of_model_type(model_type: str) -> Optional[TowerFamily]:
    return _first_family(lambda family: model_type in family.model_types)
