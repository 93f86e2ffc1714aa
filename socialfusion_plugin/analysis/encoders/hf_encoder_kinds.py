"""The probe's Hugging Face encoder kinds, one `--encoders` prefix each, all from local folders:

    hf_clip:<FOLDER>    a CLIP tower: a CLIP / CLIP-vision folder, or a VLM checkpoint with a CLIP tower
    hf_siglip:<FOLDER>  a SigLIP tower: a SigLIP / SigLIP-vision folder, or a VLM checkpoint with one
    hf_vlm:<FOLDER>     the vision tower inside a VLM checkpoint, whatever its family (LLaVA-1.5-hf,
                        LLaVA-NeXT-hf, LLaVA-OneVision-hf, PaliGemma, or any config with a vision_config)

`identify` fingerprints config.json, preprocessor_config.json, the weight index and only the
shards that hold the tower, without reading tensors; `describe` says what the folder is, the
tower's depth and resolution and the preprocessing, also without reading tensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from ..fingerprint import files_fingerprint
from .base import EncoderIdentity, EncoderSpecError
from .hf_preprocessing import tower_image_processor
from .hf_tower_layout import TowerLayout, read_tower_layout
from .hf_vision_encoder import HfVisionFeatureEncoder


@dataclass(frozen=True)
class HfTowerKind:
    prefix: str
    family: Optional[str] = None  # 'clip' / 'siglip': only towers of that family
    vlm_only: bool = False  # only the tower inside a VLM checkpoint

    def folder(self, name: str) -> Path:
        body = name[len(self.prefix) + 1:] if name.startswith(self.prefix + ":") else name
        if not body:
            raise EncoderSpecError(f"encoder {name!r}: give a local folder after {self.prefix}:")
        return Path(body).expanduser()

    def layout(self, name: str, file_check: Optional[Callable[[Path], Optional[str]]] = None) -> TowerLayout:
        return read_tower_layout(self.folder(name), family=self.family, vlm_only=self.vlm_only, file_check=file_check)

    def encoder_id(self, name: str) -> str:
        return f"{self.prefix}:{self.folder(name).resolve()}"

    def identify(self, name: str) -> EncoderIdentity:
        layout = self.layout(name)
        return EncoderIdentity(encoder_id=self.encoder_id(name), fingerprint=files_fingerprint(layout.fingerprint_files()))

    def build(self, name: str, device: str = "cpu", dtype: torch.dtype = torch.float32) -> HfVisionFeatureEncoder:
        return HfVisionFeatureEncoder(self.encoder_id(name), self.layout(name), device=device, dtype=dtype)

    def describe(self, name: str) -> str:
        layout = self.layout(name)
        config = layout.config
        _, preprocessing = tower_image_processor(layout, config)
        parts = [layout.source, f"{layout.family.label} tower, {config.num_hidden_layers} blocks, "
                 f"{config.image_size}px, patch {config.patch_size}",
                 *layout.notes, f"preprocessing: {preprocessing}"]
        if not layout.family.class_token:
            parts.append("no class token (pool with mean)")
        return "; ".join(parts)


HF_CLIP = HfTowerKind("hf_clip", family="clip")
HF_SIGLIP = HfTowerKind("hf_siglip", family="siglip")
HF_VLM = HfTowerKind("hf_vlm", vlm_only=True)
