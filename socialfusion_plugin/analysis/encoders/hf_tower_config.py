"""What a local Hugging Face folder's config.json says about its vision tower: the tower family, its
vision config, what the folder is (for messages), and under which key prefixes its weights may be.

See `hf_tower_layout` for the kinds of folder; every problem is one `EncoderSpecError` naming the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from ...json_records import read_json
from .base import EncoderSpecError
from .hf_formats import TOWER_FAMILIES, VLM_FORMATS, TowerFamily, family_of_model_type, family_of_vision_type

CONFIG = "config.json"


def read_config(folder: Path) -> Dict[str, Any]:
    if folder.is_file():
        raise EncoderSpecError(f"{folder} is a file; give the model folder")
    if not folder.is_dir():
        raise EncoderSpecError(f"{folder} not found (a local Hugging Face folder is needed; nothing is downloaded)")
    path = folder / CONFIG
    if not path.is_file():
        raise EncoderSpecError(f"{path} not found (expected a local Hugging Face model folder)")
    return read_json(path, "model config", dict, "a JSON object", EncoderSpecError)


def classify(folder: Path, config: Dict[str, Any], vlm_only: bool):
    """(family, vision config dict, source, allowed key prefixes or None for any, notes)."""
    path = folder / CONFIG
    model_type = config.get("model_type")
    alone = family_of_model_type(model_type) if isinstance(model_type, str) else None
    if alone is not None:
        if vlm_only:
            raise EncoderSpecError(f"{path}: model_type {model_type!r} is a {alone.label} tower on its own, not a VLM "
                                   f"checkpoint: use hf_{alone.name}:{folder}")
        if model_type in alone.vision_types:
            return alone, dict(config), f"{alone.label} vision tower folder", ("",), ()
        return alone, _full_model_vision_config(path, config), f"{alone.label} model folder (its vision half)", ("",), ()
    vision_config = config.get("vision_config")
    if not isinstance(vision_config, dict) and config.get("mm_vision_tower"):
        raise EncoderSpecError(
            f"{path}: an original-format LLaVA checkpoint; its vision tower {config['mm_vision_tower']!r} is not stored "
            "in it: probe that tower (open_clip:ARCH@WEIGHTS as written there, or hf_clip:<its local folder>)")
    if model_type in VLM_FORMATS:
        vlm = VLM_FORMATS.get(model_type)
        architectures = config.get("architectures") or []
        if architectures and not set(architectures) & set(vlm.architectures):
            raise EncoderSpecError(f"{path}: model_type {model_type!r} with architectures {architectures}; a {vlm.label} "
                                   f"checkpoint has {list(vlm.architectures)}")
        if not isinstance(vision_config, dict):
            raise EncoderSpecError(f"{path}: a {vlm.label} config without a vision_config object")
        family = _vision_family(path, vision_config, vlm.default_tower)
        source = f"{vlm.label} checkpoint ({', '.join(architectures) or model_type})"
        notes = tuple(filter(None, [vlm.read_layer(config)]))
        return family, _with_type(vision_config, family), source, vlm.key_prefixes, notes
    if isinstance(vision_config, dict) and vision_config.get("model_type"):
        family = _vision_family(path, vision_config, None)
        return family, dict(vision_config), f"{model_type} checkpoint with a {family.label} vision_config", None, ()
    known = sorted({t for name in TOWER_FAMILIES.names() for t in TOWER_FAMILIES.get(name).model_types})
    raise EncoderSpecError(
        f"{path}: model_type {model_type!r} is neither a vision tower ({', '.join(known)}) nor a known VLM checkpoint "
        f"({', '.join(VLM_FORMATS.get(n).label for n in VLM_FORMATS.names())}), and it has no vision_config with a "
        "model_type")


def _vision_family(path: Path, vision_config: Dict[str, Any], default: Optional[str]) -> TowerFamily:
    vision_type = vision_config.get("model_type")
    if vision_type is None and default is not None:
        return TOWER_FAMILIES.get(default)
    family = family_of_vision_type(str(vision_type))
    if family is None:
        known = sorted(t for name in TOWER_FAMILIES.names() for t in TOWER_FAMILIES.get(name).vision_types)
        raise EncoderSpecError(f"{path}: vision_config model_type {vision_type!r} is not a known vision tower "
                               f"({', '.join(known)})")
    return family


def _with_type(vision_config: Dict[str, Any], family: TowerFamily) -> Dict[str, Any]:
    return {**vision_config, "model_type": vision_config.get("model_type", family.vision_types[0])}


def _full_model_vision_config(path: Path, config: Dict[str, Any]) -> Dict[str, Any]:
    # old CLIP configs keep the values that differ from the defaults in `vision_config_dict`,
    # which the full model's config lays over `vision_config` (as CLIPConfig does)
    vision = config.get("vision_config")
    overrides = config.get("vision_config_dict")
    if not isinstance(vision, dict) and not isinstance(overrides, dict):
        raise EncoderSpecError(f"{path}: a {config.get('model_type')} model config without a vision_config object")
    merged = {**(vision if isinstance(vision, dict) else {}), **(overrides if isinstance(overrides, dict) else {})}
    family = family_of_model_type(config["model_type"])
    return _with_type(merged, family)
