"""Encoders a probe can read, by the prefix of their --encoders string: `open_clip:` (below) and
`hf_clip:`, `hf_siglip:`, `hf_vlm:` (hf_encoder); docs/diagnostics.md describes them.

An open_clip tower is addressed exactly like training, `open_clip:<ARCH>@<WEIGHTS>`, and built by the
same class LLaVA uses in training (weights resolved locally, never downloaded; the same
CLIPImageProcessor built from open_clip's preprocessing), so probe features are the features the
connector would see.

Outside packages add a kind with `PROBE_ENCODERS.register(prefix, EncoderKind(identify, build))`:
`identify(name)` names the encoder and fingerprints its weights WITHOUT loading them (so a fully
cached probe never builds the model), `build(name, device=..., dtype=...)` returns a FeatureEncoder,
and the optional `describe(name)` says in one line what the encoder is, also without loading it.
New Hugging Face tower families and VLM checkpoint formats are data: `TOWER_FAMILIES` and `VLM_FORMATS`.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Dict, Optional, Sequence

import torch

from ...model.open_clip_tower import OpenClipVisionTower
from ...model.tower_spec import OpenClipTowerSpec
from ...registry import Registry
from ..fingerprint import files_fingerprint
from .base import EncoderIdentity, EncoderKind, EncoderSpecError, FeatureEncoder
from .hf_encoder import TOWER_FAMILIES, VLM_FORMATS, HfTowerKind


class OpenClipFeatureEncoder(FeatureEncoder):
    embeddings_layer = False  # open_clip exposes block outputs only; its pre-block embeddings are not an intermediate

    def __init__(self, name: str, device: str = "cpu", dtype: torch.dtype = torch.float32):
        # select layer -1 is valid for any depth; the probe picks its own layers below
        self.tower = OpenClipVisionTower(name, args=SimpleNamespace(mm_vision_select_layer=-1))
        self.encoder_id = self.tower.vision_tower_name
        self.num_layers = self.tower.config.num_hidden_layers
        self.tower.vision_tower.to(device=device, dtype=dtype)
        self.image_processor = self.tower.image_processor

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


PROBE_ENCODERS: Registry = Registry("probe encoder")
PROBE_ENCODERS.register("open_clip", EncoderKind(identify=identify_open_clip, build=OpenClipFeatureEncoder))
for _kind in (HfTowerKind("hf_clip", family="clip"), HfTowerKind("hf_siglip", family="siglip"),
              HfTowerKind("hf_vlm", vlm_only=True)):
    PROBE_ENCODERS.register(_kind.prefix, _kind)


def encoder_prefix(name: str) -> str:
    prefix = name.split(":", 1)[0] if ":" in name else ""
    if prefix not in PROBE_ENCODERS:
        raise EncoderSpecError(
            f"encoder {name!r}: expected one of {', '.join(p + ':...' for p in PROBE_ENCODERS.names())}, "
            "e.g. open_clip:ViT-L-14-336@openai, hf_clip:/models/clip-vit-large-patch14-336 or "
            "hf_vlm:/models/llava-onevision-qwen2-7b-ov-hf"
        )
    return prefix


def identify_encoder(name: str) -> EncoderIdentity:
    return PROBE_ENCODERS.get(encoder_prefix(name)).identify(name)


def load_encoder(name: str, device: str = "cpu", dtype: torch.dtype = torch.float32) -> FeatureEncoder:
    return PROBE_ENCODERS.get(encoder_prefix(name)).build(name, device=device, dtype=dtype)


def describe_encoder(name: str) -> Optional[str]:
    """One line on what the encoder is (read from its files, nothing loaded), or None if its kind has none."""
    describe = getattr(PROBE_ENCODERS.get(encoder_prefix(name)), "describe", None)
    return describe(name) if describe else None


__all__ = ["EncoderIdentity", "EncoderKind", "EncoderSpecError", "FeatureEncoder", "HfTowerKind", "PROBE_ENCODERS",
           "TOWER_FAMILIES", "VLM_FORMATS", "describe_encoder", "encoder_prefix", "identify_encoder", "load_encoder"]
