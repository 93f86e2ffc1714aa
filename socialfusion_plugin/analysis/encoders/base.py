"""The one interface the probe sees of any image encoder: image batch -> per-layer tokens.

Layers are indexed like LLaVA's `--mm_vision_select_layer`, i.e. Hugging Face `hidden_states`:
0 = the embeddings, k = the output of block k, negative values count from the end (-1 = last
block, -2 = second to last). Tokens come back as (batch, 1 + patches, width) with the CLS token
first, so pooling is the same for every encoder; an encoder without a class token (SigLIP) says so
with `class_token = False` and puts the mean of its patch tokens first.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from socialfusion_plugin.errors import UserInputError


class EncoderSpecError(UserInputError):
    """A malformed or unusable --encoders entry."""


@dataclass(frozen=True)
class EncoderIdentity:
    encoder_id: str  # the --encoders string, normalized (part of the cache key)
    fingerprint: str  # of the weights files (part of the cache key)


@dataclass(frozen=True)
class EncoderKind:
    identify: Callable[[str], EncoderIdentity]
    build: Callable[..., "FeatureEncoder"]
    describe: Optional[Callable[[str], str]] = None  # one line on what the encoder is, without loading it


class FeatureEncoder(ABC):
    encoder_id: str
    num_layers: int  # number of transformer blocks
    class_token: bool = True  # False: token 0 is the mean of the patch tokens, not a learned class token
    embeddings_layer: bool = True  # False: layer 0 (the embeddings) cannot be read
    image_processor: Any  # the encoder's own preprocessing, with CLIPImageProcessor's `preprocess`

    def preprocess(self, images: List) -> torch.Tensor:
        """PIL images -> pixel tensor (batch, 3, H, W)."""
        return self.image_processor.preprocess(images, return_tensors="pt")["pixel_values"]

    @abstractmethod
    def hidden_states(self, pixels: torch.Tensor, hidden_indices: Sequence[int]) -> Dict[int, torch.Tensor]:
        """{non-negative hidden index: tokens (batch, 1 + patches, width)} for the given indices."""

    def resolve_layer(self, layer: int) -> int:
        """LLaVA/HF layer index -> non-negative hidden_states index, or an error naming the range."""
        index = layer if layer >= 0 else self.num_layers + 1 + layer
        lowest = 0 if self.embeddings_layer else 1
        if not lowest <= index <= self.num_layers:
            valid = f"{lowest}..{self.num_layers} or -1..-{self.num_layers}"
            raise EncoderSpecError(f"layer {layer} is outside {self.encoder_id}'s {self.num_layers} blocks (valid: {valid})")
        return index

    def extract(self, pixels: torch.Tensor, layers: Sequence[int]) -> Dict[int, torch.Tensor]:
        """{requested layer (as given): tokens} in one forward pass."""
        resolved = {layer: self.resolve_layer(layer) for layer in layers}
        states = self.hidden_states(pixels, sorted(set(resolved.values())))
        return {layer: states[index] for layer, index in resolved.items()}
