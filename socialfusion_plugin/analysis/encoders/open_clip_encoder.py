"""open_clip towers for probing, addressed exactly like training: `open_clip:<ARCH>@<WEIGHTS>`.

The tower is built by the same class LLaVA uses in training (weights resolved locally, never
downloaded; the same CLIPImageProcessor built from open_clip's preprocessing), so probe features
are the features the connector would see.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Dict, Sequence

import torch

from ...model.open_clip_tower import OpenClipVisionTower
from ..fingerprint import files_fingerprint
from ...model.tower_spec import OpenClipTowerSpec
from .base import EncoderIdentity, FeatureEncoder


class OpenClipFeatureEncoder(FeatureEncoder):
    def __init__(self, name: str, device: str = "cpu", dtype: torch.dtype = torch.float32):
        # select layer -1 is valid for any depth; the probe picks its own layers below
        self.tower = OpenClipVisionTower(name, args=SimpleNamespace(mm_vision_select_layer=-1))
        self.encoder_id = self.tower.vision_tower_name
        self.num_layers = self.tower.config.num_hidden_layers
        self.tower.vision_tower.to(device=device, dtype=dtype)
        self.image_processor = self.tower.image_processor

    def resolve_layer(self, layer: int, allow_embeddings: bool = False) -> int:
        # open_clip exposes block outputs only; its pre-block embeddings are not an intermediate
        return super().resolve_layer(layer, allow_embeddings=False)

    @torch.no_grad()
    def hidden_states(self, pixels: torch.Tensor, hidden_indices: Sequence[int]) -> Dict[int, torch.Tensor]:
        blocks = [index - 1 for index in hidden_indices]  # hidden index k = block k-1's output
        return dict(zip(hidden_indices, self.tower.block_tokens(pixels, blocks, with_class_token=True)))


def identify_open_clip(name: str) -> EncoderIdentity:
    spec = OpenClipTowerSpec.parse(name)
    files = [Path(spec.resolve_weights())]  # a clear error naming what to download when absent
    if spec.architecture_file:  # a custom architecture JSON defines the network as much as the weights
        files.append(Path(spec.architecture_file))
    return EncoderIdentity(encoder_id=spec.as_string(), fingerprint=files_fingerprint(files))
