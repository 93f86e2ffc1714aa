"""A Hugging Face vision tower (CLIP or SigLIP) as a probe encoder, from a local folder's layout.

The tower is built from its vision config with the family's transformers class and given the
checkpoint's tower tensors (`hf_tower_weights`); layers are `hidden_states` indices as for every
encoder (0 = embeddings, k = block k, -1 = last block, before post_layernorm).

SigLIP has no class token: token 0 of what this encoder returns is the mean of the patch tokens,
so `mean` pooling reads the patches as for CLIP, and `cls` on a SigLIP tower would only repeat
`mean` (`socialfusion probe` refuses it before loading anything).
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch

from .base import FeatureEncoder
from .hf_preprocessing import tower_image_processor
from .hf_tower_layout import TowerLayout
from .hf_tower_weights import load_tower_weights, read_tower_state


class HfVisionFeatureEncoder(FeatureEncoder):
    def __init__(self, encoder_id: str, layout: TowerLayout, device: str = "cpu", dtype: torch.dtype = torch.float32):
        self.encoder_id = encoder_id
        self.layout = layout
        config = layout.config
        self.image_processor, self.preprocessing = tower_image_processor(layout, config)
        self.model = layout.family.make_model(config)
        self.left_out = load_tower_weights(self.model, read_tower_state(layout), layout)
        self.model.to(device=device, dtype=dtype).eval().requires_grad_(False)
        self.num_layers = config.num_hidden_layers
        self.class_token = layout.family.class_token
        self.device, self.dtype = torch.device(device), dtype

    def preprocess(self, images: List) -> torch.Tensor:
        return self.image_processor.preprocess(images, return_tensors="pt")["pixel_values"]

    @torch.no_grad()
    def hidden_states(self, pixels: torch.Tensor, hidden_indices: Sequence[int]) -> Dict[int, torch.Tensor]:
        out = self.model(pixel_values=pixels.to(device=self.device, dtype=self.dtype), output_hidden_states=True)
        states = {index: out.hidden_states[index] for index in hidden_indices}
        if not self.class_token:
            states = {index: torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)
                      for index, tokens in states.items()}
        return states
