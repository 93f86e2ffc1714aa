"""Where a vision tower lives in a local Hugging Face folder, read from config.json, the weight
index and safetensors headers only: no tensor is read and no module is built, so the pre-flight
checks call this as the encoder loader does, and every problem is one line naming the folder.

The folder is a tower on its own (its weights under `vision_model.`), a VLM checkpoint of a
registered format (`hf_formats.VLM_FORMATS`, its weights under one of the format's key prefixes),
or any other checkpoint whose config.json has a `vision_config` of a known family (any one prefix).
The tower's keys are found by the one key every tower has (SIGNATURE); with a weight index only the
shards that hold tower keys are listed (a 7B VLM's language-model shards are never opened).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ...json_records import read_json
from .base import EncoderSpecError
from .hf_formats import TOWER_FAMILIES, VLM_FORMATS, TowerFamily, family_of_model_type, family_of_vision_type

CONFIG = "config.json"
PREPROCESSOR = "preprocessor_config.json"
SINGLE_FILES = ("model.safetensors", "pytorch_model.bin")
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
SIGNATURE = "vision_model.embeddings.patch_embedding.weight"
POSITIONS = "vision_model.embeddings.position_embedding.weight"
_BLOCK = re.compile(r"vision_model\.encoder\.layers\.(\d+)\.")


@dataclass(frozen=True)
class TowerLayout:
    folder: Path
    family: TowerFamily
    vision_config: Dict[str, Any]  # what the tower is built from (image_size filled in when inferred)
    source: str  # what the folder is, for messages and the description
    key_prefix: str  # before `vision_model.` in the checkpoint's keys
    key_files: Dict[str, Path]  # checkpoint key -> file, for the tower's keys (empty: a .bin not listed)
    weight_files: Tuple[Path, ...]  # only the files that hold tower tensors
    index_file: Optional[Path]
    notes: Tuple[str, ...] = ()

    @property
    def config(self):
        return self.family.make_config(self.vision_config)

    def fingerprint_files(self) -> List[Path]:
        """What defines the tower's features: its config, preprocessing, index and tower shards."""
        files = [self.folder / CONFIG, *self.weight_files]
        files += [path for path in (self.folder / PREPROCESSOR, self.index_file) if path and path.is_file()]
        return files


def read_tower_layout(folder, family: Optional[str] = None, vlm_only: bool = False,
                      file_check: Optional[Callable[[Path], Optional[str]]] = None) -> TowerLayout:
    """The tower in `folder`; `family` ('clip', 'siglip') or `vlm_only` narrow what is accepted;
    `file_check(path)` (the pre-flight's completeness check) runs before a weight file's header is read."""
    folder = Path(folder).expanduser()
    config = _read_config(folder)
    found_family, vision_config, source, prefixes, notes = _classify(folder, config, vlm_only)
    if family is not None and found_family.name != family:
        raise EncoderSpecError(
            f"{folder}: holds a {found_family.label} vision tower ({source}), not {TOWER_FAMILIES.get(family).label}: "
            f"use hf_{found_family.name}:{folder}")
    index_file, key_files = _checkpoint_keys(folder, file_check)
    prefix = _tower_prefix(folder, key_files, prefixes, source)
    tower = {key: path for key, path in key_files.items() if key.startswith(prefix + "vision_model.")}
    absent = sorted({path for path in tower.values() if not path.is_file()})
    if absent:
        raise EncoderSpecError(f"{absent[0]} not found: {index_file} lists the vision tower's weights in it"
                               + (f" (and in {len(absent) - 1} more missing shard(s))" if len(absent) > 1 else ""))
    try:
        config_object = found_family.make_config(vision_config)
    except (TypeError, ValueError) as err:
        raise EncoderSpecError(f"{folder / CONFIG}: its {found_family.label} tower config is not usable "
                               f"({type(err).__name__}: {err})") from None
    if tower:
        _check_blocks(folder, tower, prefix, config_object.num_hidden_layers)
        vision_config, size_note = _image_size(folder, tower, prefix, found_family, vision_config, config_object,
                                               file_check)
        notes += (size_note,) if size_note else ()
    files = tuple(sorted(set(tower.values()))) or tuple(folder / f for f in SINGLE_FILES if (folder / f).is_file())[:1]
    return TowerLayout(folder=folder, family=found_family, vision_config=vision_config, source=source,
                       key_prefix=prefix, key_files=tower, weight_files=files, index_file=index_file, notes=notes)


def _read_config(folder: Path) -> Dict[str, Any]:
    if folder.is_file():
        raise EncoderSpecError(f"{folder} is a file; give the model folder")
    if not folder.is_dir():
        raise EncoderSpecError(f"{folder} not found (a local Hugging Face folder is needed; nothing is downloaded)")
    path = folder / CONFIG
    if not path.is_file():
        raise EncoderSpecError(f"{path} not found (expected a local Hugging Face model folder)")
    return read_json(path, "model config", dict, "a JSON object", EncoderSpecError)


def _classify(folder: Path, config: Dict[str, Any], vlm_only: bool):
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
        source = f"{alone.label} model folder (its vision half)"
        return alone, _full_model_vision_config(path, config), source, ("",), ()
    vision_config = config.get("vision_config")
    if not isinstance(vision_config, dict) and config.get("mm_vision_tower"):
        raise EncoderSpecError(
            f"{path}: an original-format LLaVA checkpoint; its vision tower {config['mm_vision_tower']!r} is not "
            "stored in it: probe that tower (open_clip:ARCH@WEIGHTS as written there, or hf_clip:<its local folder>)")
    if model_type in VLM_FORMATS:
        vlm = VLM_FORMATS.get(model_type)
        architectures = config.get("architectures") or []
        if architectures and not set(architectures) & set(vlm.architectures):
            raise EncoderSpecError(f"{path}: model_type {model_type!r} with architectures {architectures}; a "
                                   f"{vlm.label} checkpoint has {list(vlm.architectures)}")
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


def _checkpoint_keys(folder: Path, file_check) -> Tuple[Optional[Path], Dict[str, Path]]:
    """(index file, {key: file}); keys of a single safetensors file come from its header; a single
    .bin file cannot be listed without unpickling it, so its keys are checked when it is read."""
    for name in INDEX_FILES:
        index = folder / name
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map")
            except (OSError, ValueError, AttributeError) as err:
                raise EncoderSpecError(f"{index} cannot be read as a weight index ({type(err).__name__})") from None
            if not isinstance(weight_map, dict) or not weight_map:
                raise EncoderSpecError(f"{index} has no weight_map")
            return index, {str(key): folder / str(shard) for key, shard in weight_map.items()}
    single = folder / SINGLE_FILES[0]
    if single.is_file():
        return None, {key: single for key in _read_header(single, file_check, lambda handle: list(handle.keys()))}
    if (folder / SINGLE_FILES[1]).is_file():
        return None, {}
    raise EncoderSpecError(f"no weights in {folder} (none of {', '.join(SINGLE_FILES + INDEX_FILES)})")


def _read_header(path: Path, file_check, read):
    """`read(handle)` of a safetensors file opened for its header (no tensor is read); one error per bad file."""
    from safetensors import safe_open

    problem = file_check(path) if file_check else None
    if problem:
        raise EncoderSpecError(problem)
    try:
        with safe_open(str(path), framework="pt") as handle:
            return read(handle)
    except Exception as err:  # safetensors raises its own error types for a cut or foreign file
        raise EncoderSpecError(f"{path} cannot be read as safetensors ({type(err).__name__}: {err})") from None


def _tower_prefix(folder: Path, key_files: Dict[str, Path], allowed, source: str) -> str:
    if not key_files:  # a single .bin file: the loader finds the keys
        return "" if allowed is None else allowed[0]
    prefixes = sorted({key[: -len(SIGNATURE)] for key in key_files if key.endswith(SIGNATURE)})
    if not prefixes:
        raise EncoderSpecError(f"{folder}: no vision tower weights in the checkpoint (no key ending in {SIGNATURE}); "
                               f"config.json says it is a {source}")
    if allowed is not None:
        wrong = [p for p in prefixes if p not in allowed]
        if wrong:
            shown = ", ".join(repr(p) for p in wrong)
            raise EncoderSpecError(f"{folder}: vision tower weights under {shown}, where a {source} keeps them under "
                                   f"{' or '.join(repr(p) for p in allowed)}")
    if len(prefixes) > 1:
        raise EncoderSpecError(f"{folder}: several vision towers in the checkpoint (key prefixes {prefixes})")
    return prefixes[0]


def _check_blocks(folder: Path, tower: Dict[str, Path], prefix: str, blocks: int) -> None:
    found = {int(match.group(1)) for key in tower for match in [_BLOCK.match(key[len(prefix):])] if match}
    missing = sorted(set(range(blocks)) - found)
    extra = sorted(found - set(range(blocks)))
    if missing or extra:
        raise EncoderSpecError(
            f"{folder}: config.json's tower has {blocks} blocks, the weights under {prefix or '(no prefix)'}vision_model. "
            f"hold blocks {_ranges(sorted(found))}" + (f" (missing: {_ranges(missing)})" if missing else ""))
    if prefix + POSITIONS not in tower:
        raise EncoderSpecError(f"{folder}: the checkpoint has no {prefix}{POSITIONS}")


def _image_size(folder: Path, tower: Dict[str, Path], prefix: str, family: TowerFamily, vision_config, config,
                file_check):
    """image_size from the position embeddings when the config has none (PaliGemma's configs may
    omit it); a config whose image_size does not fit them is an error here, not in the forward pass."""
    path = tower[prefix + POSITIONS]
    if path.suffix != ".safetensors" or not path.is_file():
        return vision_config, None  # the loader's shape check reports it
    positions = _read_header(path, file_check, lambda handle: handle.get_slice(prefix + POSITIONS).get_shape()[0])
    class_positions = int(family.class_token)  # a class token has a position embedding of its own
    side = math.isqrt(max(positions - class_positions, 0))
    size = side * config.patch_size
    if side * side + class_positions != positions:
        raise EncoderSpecError(f"{path}: {positions} position embeddings do not make a square grid of patches")
    if "image_size" not in vision_config:
        return {**vision_config, "image_size": size}, f"image_size {size} from the position embeddings (not in config)"
    if config.image_size != size:
        raise EncoderSpecError(f"{folder / CONFIG}: vision image_size {config.image_size} with patch_size "
                               f"{config.patch_size}, but the weights hold {positions} position embeddings "
                               f"(image_size {size})")
    return vision_config, None


def _ranges(values: List[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    spans: List[List[int]] = []
    for value in values:
        if spans and value == spans[-1][1] + 1:
            spans[-1][1] = value
        else:
            spans.append([value, value])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans) or "none"
