"""open_clip towers for probing, addressed exactly like training: `open_clip:<ARCH>@<WEIGHTS>`.

The tower is built by the same class LLaVA uses in training (weights resolved locally, never
downloaded; the same CLIPImageProcessor built from open_clip's preprocessing), so probe features
are the features the connector would see.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Sequence

import torch

from ...model.open_clip_tower import OpenClipVisionTower
from ..fingerprint import files_fingerprint
from ...model.tower_spec import OpenClipTowerSpec
from .base import EncoderIdentity, FeatureEncoder


class OpenClipFeatureEncoder(FeatureEncoder):
    def __init__(self, name: str, device: str = "cpu", dtype: torch.dtype = torch.float32):
        # select layer -1 is valid for any depth; the probe picks its own layers below
        args = SimpleNamespace(mm_vision_select_layer=-1, mm_vision_select_feature="patch")
        self.tower = OpenClipVisionTower(name, args=args, delay_load=True)
        self.encoder_id = self.tower.vision_tower_name
        self.num_layers = self.tower.config.num_hidden_layers
        self.tower.load_model()
        self.tower.vision_tower.to(device=device, dtype=dtype)
        self.device, self.dtype = torch.device(device), dtype

    def preprocess(self, images: List) -> torch.Tensor:
        return self.tower.image_processor.preprocess(images, return_tensors="pt")["pixel_values"]

    def resolve_layer(self, layer: int, allow_embeddings: bool = False) -> int:
        # open_clip exposes block outputs only; its pre-block embeddings are not an intermediate
        return super().resolve_layer(layer, allow_embeddings=False)

    @torch.no_grad()
    def hidden_states(self, pixels: torch.Tensor, hidden_indices: Sequence[int]) -> Dict[int, torch.Tensor]:
        out = self.tower.vision_tower.forward_intermediates(
            pixels.to(device=self.device, dtype=self.dtype),
            indices=[index - 1 for index in hidden_indices],  # hidden index k = block k-1's output
            stop_early=True,
            intermediates_only=True,
            output_fmt="NLC",
            output_extra_tokens=True,
        )
        tokens = [torch.cat([prefix, patches], dim=1)
                  for prefix, patches in zip(out["image_intermediates_prefix"], out["image_intermediates"])]
        return dict(zip(hidden_indices, tokens))


def identify_open_clip(name: str) -> EncoderIdentity:
    spec = OpenClipTowerSpec.parse(name)
    files = [Path(spec.resolve_weights())]  # a clear error naming what to download when absent
    if spec.architecture_file:  # a custom architecture JSON defines the network as much as the weights
        files.append(Path(spec.architecture_file))
    return EncoderIdentity(encoder_id=spec.as_string(), fingerprint=files_fingerprint(files))


def build_open_clip_encoder(name: str, device: str = "cpu", dtype: torch.dtype = torch.float32) -> OpenClipFeatureEncoder:
    return OpenClipFeatureEncoder(name, device=device, dtype=dtype)
