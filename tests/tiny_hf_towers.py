"""Tiny random CLIP and SigLIP vision towers, written in the real on-disk layouts the probe reads:
a tower folder on its own, and the tower inside LLaVA-1.5-hf, LLaVA-OneVision-hf and PaliGemma
checkpoints (config.json with a `vision_config`, the tower under `vision_tower.vision_model.*`,
beside projector and language-model tensors), one of them sharded with a weight index.

Each writer returns the folder; `TinyTowers.clip` / `.siglip` are the modules whose weights were
written, so a test compares the probe's features with the module's own `hidden_states`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import torch

CLIP_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2, image_size=32,
                   patch_size=8)
SIGLIP_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2, image_size=32,
                     patch_size=8)
TEXT_CONFIG = {"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 64}


@dataclass
class TinyTowers:
    clip: torch.nn.Module
    siglip: torch.nn.Module


def build_tiny_towers(seed: int = 0) -> TinyTowers:
    from transformers import CLIPVisionConfig, CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel

    torch.manual_seed(seed)
    clip = CLIPVisionModel(CLIPVisionConfig(**CLIP_VISION)).eval()
    siglip = SiglipVisionModel(SiglipVisionConfig(**SIGLIP_VISION)).eval()
    return TinyTowers(clip=clip, siglip=siglip)


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")
    return path


def tower_state(model: torch.nn.Module, prefix: str = "", drop=()) -> Dict[str, torch.Tensor]:
    """The module's weights under `prefix`, without the modules in `drop` (e.g. SigLIP's head)."""
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("position_ids") or any(key.startswith(f"vision_model.{name}.") for name in drop):
            continue
        state[prefix + key] = value.detach().clone().contiguous()
    return state


def other_vlm_tensors() -> Dict[str, torch.Tensor]:
    """What a VLM holds besides its tower: projector and language model (tiny)."""
    generator = torch.Generator().manual_seed(1)
    return {"multi_modal_projector.linear_1.weight": torch.randn(16, 32, generator=generator),
            "language_model.model.embed_tokens.weight": torch.randn(64, 16, generator=generator),
            "language_model.lm_head.weight": torch.randn(64, 16, generator=generator)}


def save_safetensors(state: Dict[str, torch.Tensor], path: Path) -> Path:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"format": "pt"})
    return path


def write_sharded(folder: Path, shards: Dict[str, Dict[str, torch.Tensor]]) -> None:
    """One safetensors file per shard name, and model.safetensors.index.json mapping every key."""
    weight_map = {}
    for name, state in shards.items():
        save_safetensors(state, folder / name)
        weight_map.update({key: name for key in state})
    write_json(folder / "model.safetensors.index.json", {"metadata": {"total_size": 0}, "weight_map": weight_map})


def clip_processor_config(size: int = 32) -> dict:
    return {"image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": size},
            "resample": 3, "do_center_crop": True, "crop_size": {"height": size, "width": size}, "do_rescale": True,
            "rescale_factor": 1 / 255, "do_normalize": True, "do_convert_rgb": True,
            "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}


def siglip_processor_config(size: int = 32, processor: str = "SiglipImageProcessor") -> dict:
    return {"image_processor_type": processor, "do_resize": True, "size": {"height": size, "width": size},
            "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}


def write_siglip_folder(folder: Path, towers: TinyTowers) -> Path:
    """A SigLIP vision tower on its own, as SiglipVisionModel.save_pretrained writes it."""
    towers.siglip.save_pretrained(folder, safe_serialization=True)
    write_json(folder / "preprocessor_config.json", siglip_processor_config())
    return folder


def write_llava_hf(folder: Path, towers: TinyTowers, prefix: str = "vision_tower.", model_type: str = "llava",
                   architecture: str = "LlavaForConditionalGeneration") -> Path:
    """LLaVA-1.5-hf (or, with llava_next / LlavaNextForConditionalGeneration, LLaVA-NeXT-hf): CLIP
    vision_config, the tower in a shard of its own (with the projector), the language model in
    another, and model.safetensors.index.json."""
    vision_config = {**towers.clip.config.to_dict(), "model_type": "clip_vision_model"}
    write_json(folder / "config.json", {
        "model_type": model_type, "architectures": [architecture], "vision_config": vision_config,
        "text_config": TEXT_CONFIG, "vision_feature_layer": -2, "vision_feature_select_strategy": "default"})
    others = other_vlm_tensors()
    write_sharded(folder, {
        "model-00001-of-00002.safetensors": {**tower_state(towers.clip, prefix),
                                             "multi_modal_projector.linear_1.weight": others.pop(
                                                 "multi_modal_projector.linear_1.weight")},
        "model-00002-of-00002.safetensors": others})
    write_json(folder / "preprocessor_config.json", clip_processor_config())
    return folder


def write_siglip_model_folder(folder: Path, towers: TinyTowers) -> Path:
    """A whole SigLIP model (image and text towers) as google/siglip-* folders hold it: config.json
    of model_type siglip with vision_config and text_config, keys vision_model.* and text_model.*."""
    write_json(folder / "config.json", {
        "model_type": "siglip", "architectures": ["SiglipModel"], "vision_config": dict(SIGLIP_VISION),
        "text_config": {"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 64}})
    save_safetensors({**tower_state(towers.siglip), "text_model.embeddings.token_embedding.weight": torch.zeros(64, 16),
                      "logit_scale": torch.zeros(1)}, folder / "model.safetensors")
    return folder


def write_llava_onevision_hf(folder: Path, towers: TinyTowers) -> Path:
    """LLaVA-OneVision-hf: SigLIP vision_config with vision_use_head false, no head weights, anyres
    image processor settings."""
    vision_config = {**SIGLIP_VISION, "model_type": "siglip_vision_model", "vision_use_head": False,
                     "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6}
    write_json(folder / "config.json", {
        "model_type": "llava_onevision", "architectures": ["LlavaOnevisionForConditionalGeneration"],
        "vision_config": vision_config, "text_config": TEXT_CONFIG, "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full", "vision_aspect_ratio": "anyres_max_9"})
    save_safetensors({**tower_state(towers.siglip, "vision_tower.", drop=("head",)), **other_vlm_tensors()},
                     folder / "model.safetensors")
    processor = siglip_processor_config(processor="LlavaOnevisionImageProcessor")
    processor.update({"do_pad": True, "image_grid_pinpoints": [[32, 32], [32, 64], [64, 32]]})
    write_json(folder / "preprocessor_config.json", processor)
    return folder


def write_paligemma(folder: Path, towers: TinyTowers, with_processor: bool = True) -> Path:
    """PaliGemma: SigLIP vision_config WITHOUT image_size (as released configs have it), no head,
    the tower under vision_tower.vision_model.*."""
    vision_config = {key: value for key, value in SIGLIP_VISION.items() if key != "image_size"}
    vision_config.update({"model_type": "siglip_vision_model", "vision_use_head": False, "projection_dim": 16})
    write_json(folder / "config.json", {
        "model_type": "paligemma", "architectures": ["PaliGemmaForConditionalGeneration"],
        "vision_config": vision_config, "text_config": TEXT_CONFIG})
    save_safetensors({**tower_state(towers.siglip, "vision_tower.", drop=("head",)), **other_vlm_tensors()},
                     folder / "model.safetensors")
    if with_processor:
        write_json(folder / "preprocessor_config.json", siglip_processor_config())
    return folder
