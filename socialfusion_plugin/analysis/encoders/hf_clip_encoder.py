"""Hugging Face CLIP vision towers from a local folder: `hf_clip:<FOLDER>`.

Two layouts are read, both with local_files_only=True and never with remote code:
- a CLIP model or CLIP vision model folder (config.json with model_type `clip` or
  `clip_vision_model`, weights in safetensors or .bin), e.g. openai/clip-vit-large-patch14-336 as
  downloaded, or a VLM's vision tower saved on its own;
- a VLM checkpoint whose config.json has a `vision_config` of type `clip_vision_model` (the
  llava-hf layout): the tower's weights are the keys ending in `vision_model.*` under one prefix
  (e.g. `vision_tower.`) in the checkpoint's safetensors, and every tower key must be found.
The image processor comes from the folder's preprocessor_config.json when present; otherwise a
CLIP processor is built from the config's image_size with OpenAI CLIP's mean/std (stated in the
probe report as `preprocessing`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from ...model.image_processor import build_image_processor
from ..fingerprint import files_fingerprint
from .base import EncoderIdentity, EncoderSpecError, FeatureEncoder

PREFIX = "hf_clip"
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
WEIGHT_SUFFIXES = (".safetensors", ".bin")


class HfClipFeatureEncoder(FeatureEncoder):
    def __init__(self, name: str, device: str = "cpu", dtype: torch.dtype = torch.float32):
        folder = _folder(name)
        self.encoder_id = f"{PREFIX}:{folder.resolve()}"
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.model, self.preprocessing = self._load(folder, config)
        self.model.to(device=device, dtype=dtype).eval().requires_grad_(False)
        self.num_layers = self.model.config.num_hidden_layers
        self.device, self.dtype = torch.device(device), dtype

    def _load(self, folder: Path, config: dict):
        from transformers import CLIPVisionConfig, CLIPVisionModel

        model_type = config.get("model_type")
        if model_type in ("clip", "clip_vision_model"):
            model = CLIPVisionModel.from_pretrained(str(folder), local_files_only=True, trust_remote_code=False)
        elif isinstance(config.get("vision_config"), dict) and config["vision_config"].get("model_type") == "clip_vision_model":
            model = CLIPVisionModel(CLIPVisionConfig(**config["vision_config"]))
            _load_embedded_tower(model, folder)
        else:
            raise EncoderSpecError(
                f"{folder / 'config.json'}: model_type {model_type!r} is not a CLIP vision tower and the config has no "
                "vision_config of type clip_vision_model"
            )
        return model, self._processor(folder, model.config)

    def _processor(self, folder: Path, vision_config):
        if (folder / "preprocessor_config.json").is_file():
            from transformers import CLIPImageProcessor

            self.image_processor = CLIPImageProcessor.from_pretrained(str(folder), local_files_only=True)
            return "preprocessor_config.json"
        self.image_processor = build_image_processor({"size": vision_config.image_size, "mean": OPENAI_MEAN, "std": OPENAI_STD})
        return f"CLIP default: resize+center crop {vision_config.image_size}, OpenAI mean/std (no preprocessor_config.json)"

    def preprocess(self, images: List) -> torch.Tensor:
        return self.image_processor.preprocess(images, return_tensors="pt")["pixel_values"]

    @torch.no_grad()
    def hidden_states(self, pixels: torch.Tensor, hidden_indices: Sequence[int]) -> Dict[int, torch.Tensor]:
        out = self.model(pixel_values=pixels.to(device=self.device, dtype=self.dtype), output_hidden_states=True)
        return {index: out.hidden_states[index] for index in hidden_indices}


def _load_embedded_tower(model, folder: Path) -> None:
    """Copy a CLIP vision tower's weights out of a VLM checkpoint's safetensors shards."""
    from safetensors import safe_open

    shards = sorted(folder.glob("*.safetensors"))
    if not shards:
        raise EncoderSpecError(f"{folder}: no .safetensors files; the embedded vision tower is read from safetensors only")
    expected = model.state_dict()
    found: Dict[str, torch.Tensor] = {}
    prefixes = set()
    for shard in shards:
        with safe_open(str(shard), framework="pt") as handle:
            for key in handle.keys():
                head, sep, rest = key.partition("vision_model.")
                if sep and f"vision_model.{rest}" in expected:
                    prefixes.add(head)
                    found[f"vision_model.{rest}"] = handle.get_tensor(key)
    if len(prefixes) > 1:
        raise EncoderSpecError(f"{folder}: several vision towers in the checkpoint (key prefixes {sorted(prefixes)})")
    missing = sorted(set(expected) - set(found))
    if missing:
        raise EncoderSpecError(f"{folder}: {len(missing)} vision tower weights not found in the checkpoint, e.g. {missing[:3]}")
    model.load_state_dict(found, strict=True)


def _folder(name: str) -> Path:
    folder = Path(name[len(PREFIX) + 1:] if name.startswith(PREFIX + ":") else name).expanduser()
    if not (folder / "config.json").is_file():
        raise EncoderSpecError(f"encoder {name}: {folder / 'config.json'} not found (expected a local Hugging Face CLIP folder)")
    return folder


def identify_hf_clip(name: str) -> EncoderIdentity:
    folder = _folder(name)
    files = [p for p in folder.iterdir() if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.suffix == ".json")]
    return EncoderIdentity(encoder_id=f"{PREFIX}:{folder.resolve()}", fingerprint=files_fingerprint(files))


def build_hf_clip_encoder(name: str, device: str = "cpu", dtype: torch.dtype = torch.float32) -> HfClipFeatureEncoder:
    return HfClipFeatureEncoder(name, device=device, dtype=dtype)
