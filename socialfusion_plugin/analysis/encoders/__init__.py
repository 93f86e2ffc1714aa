"""Encoders a probe can read, by the prefix of their --encoders string: `open_clip:` (open_clip_encoder)
and `hf_clip:`, `hf_siglip:`, `hf_vlm:` (hf_encoder); docs/diagnostics.md describes them.

Outside packages add a kind with `PROBE_ENCODERS.register(prefix, EncoderKind(identify, build))`:
`identify(name)` names the encoder and fingerprints its weights WITHOUT loading them (so a fully
cached probe never builds the model), `build(name, device=..., dtype=...)` returns a FeatureEncoder,
and the optional `describe(name)` says in one line what the encoder is, also without loading it.
New Hugging Face tower families and VLM checkpoint formats are data: `hf_formats.TOWER_FAMILIES`
and `hf_formats.VLM_FORMATS`.
"""
from __future__ import annotations

from typing import Optional

import torch

from ...registry import Registry
from .base import EncoderIdentity, EncoderKind, EncoderSpecError, FeatureEncoder
from .hf_encoder import HF_CLIP, HF_SIGLIP, HF_VLM, HfTowerKind
from .hf_formats import TOWER_FAMILIES, VLM_FORMATS
from .open_clip_encoder import OpenClipFeatureEncoder, identify_open_clip

PROBE_ENCODERS: Registry = Registry("probe encoder")
PROBE_ENCODERS.register("open_clip", EncoderKind(identify=identify_open_clip, build=OpenClipFeatureEncoder))
for _kind in (HF_CLIP, HF_SIGLIP, HF_VLM):
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
