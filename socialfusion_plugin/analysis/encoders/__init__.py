"""Encoders a probe can read, by the prefix of their --encoders string:

    open_clip:<ARCH>@<WEIGHTS>   the same scheme as --vision_tower in training
    hf_clip:<FOLDER>             a local Hugging Face CLIP (vision) folder or a llava-hf style VLM folder

Outside packages add a kind with `PROBE_ENCODERS.register(prefix, EncoderKind(identify, build))`:
`identify(name)` names the encoder and fingerprints its weights WITHOUT loading them (so a fully
cached probe never builds the model), `build(name, device=..., dtype=...)` returns a FeatureEncoder.
"""
from __future__ import annotations

import torch

from ...registry import Registry
from .base import EncoderIdentity, EncoderKind, EncoderSpecError, FeatureEncoder
from .hf_clip_encoder import build_hf_clip_encoder, identify_hf_clip
from .open_clip_encoder import build_open_clip_encoder, identify_open_clip

PROBE_ENCODERS: Registry = Registry("probe encoder")
PROBE_ENCODERS.register("open_clip", EncoderKind(identify=identify_open_clip, build=build_open_clip_encoder))
PROBE_ENCODERS.register("hf_clip", EncoderKind(identify=identify_hf_clip, build=build_hf_clip_encoder))


def encoder_prefix(name: str) -> str:
    prefix = name.split(":", 1)[0] if ":" in name else ""
    if prefix not in PROBE_ENCODERS:
        raise EncoderSpecError(
            f"encoder {name!r}: expected one of {', '.join(p + ':...' for p in PROBE_ENCODERS.names())}, "
            "e.g. open_clip:ViT-L-14-336@openai or hf_clip:/models/clip-vit-large-patch14-336"
        )
    return prefix


def identify_encoder(name: str) -> EncoderIdentity:
    return PROBE_ENCODERS.get(encoder_prefix(name)).identify(name)


def load_encoder(name: str, device: str = "cpu", dtype: torch.dtype = torch.float32) -> FeatureEncoder:
    return PROBE_ENCODERS.get(encoder_prefix(name)).build(name, device=device, dtype=dtype)


__all__ = ["EncoderIdentity", "EncoderKind", "EncoderSpecError", "FeatureEncoder", "PROBE_ENCODERS",
           "encoder_prefix", "identify_encoder", "load_encoder"]
