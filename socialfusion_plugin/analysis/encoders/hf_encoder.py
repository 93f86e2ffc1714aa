"""A Hugging Face vision tower (CLIP or SigLIP) in a local folder as a probe encoder: the `hf_clip:`,
`hf_siglip:` and `hf_vlm:` kinds, and the tower families and VLM checkpoint formats they know, as data
(outside packages add theirs with `TOWER_FAMILIES.register(...)` / `VLM_FORMATS.register(...)`).

The folder is a tower on its own (its weights under `vision_model.`), a VLM checkpoint of a registered
format (its weights under one of the format's key prefixes), or any other checkpoint whose config.json
has a `vision_config` of a known family (any one prefix). `HfTowerKind.layout` finds the tower from
config.json, the weight index and safetensors headers only, by the one key every tower has
(SIGNATURE), listing only the shards that hold tower keys (a 7B VLM's language-model shards are never
opened): `identify`, `describe` and the pre-flight checks build nothing and read no tensor, and every
problem is one line naming the folder.

The tower is always built from `vision_config` with the family's own class (CLIPVisionModel,
SiglipVisionModel), so a VLM whose own classes are newer than the installed transformers
(LLaVA-OneVision, PaliGemma on 4.37.2) is read all the same, and is given only the checkpoint's tower
tensors (a `.bin` file is read by the allow-list unpickler of `safe_load.py`, which runs no code from
it). Every tensor the probe reads must be there with its shape; modules it never reads
(`TowerFamily.unread_modules`) may be absent and are then left out of the module. Layer -1 is the last
block, before post_layernorm.

SigLIP has no class token: token 0 of what this encoder returns is the mean of the patch tokens,
so `mean` pooling reads the patches as for CLIP, and `cls` on a SigLIP tower would only repeat
`mean` (`socialfusion probe` refuses it before loading anything).

Preprocessing comes from the folder's preprocessor_config.json when it has one, else the family's
default at the config's image_size. Its numbers (size, crop, resample, rescale, mean/std) are put
into a CLIPImageProcessor built locally, instead of instantiating the class the file names: a VLM's
processor class (LlavaOnevisionImageProcessor, PaliGemma's) may be newer than the installed
transformers, and the probe wants one view at the tower's resolution, not a VLM's tiles. For a
CLIP or SigLIP processor file the result is the same pixels as that class gives.
"""
from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from ...json_records import read_json
from ...registry import Registry
from ...safe_load import read_state_dict
from ..fingerprint import files_fingerprint
from .base import EncoderIdentity, EncoderSpecError, FeatureEncoder

CONFIG = "config.json"
PREPROCESSOR = "preprocessor_config.json"
SINGLE_FILES = ("model.safetensors", "pytorch_model.bin")
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
SIGNATURE = "vision_model.embeddings.patch_embedding.weight"
POSITIONS = "vision_model.embeddings.position_embedding.weight"
_BLOCK = re.compile(r"vision_model\.encoder\.layers\.(\d+)\.")
# a buffer that older transformers saved with the weights; recomputed by the module itself
IGNORED_SUFFIXES = ("embeddings.position_ids",)
RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}

# saved by transformers >= 4.52 under the composite model's `model.` (older saves, and the released
# llava-hf / PaliGemma checkpoints, have the tower at the top level)
VLM_TOWER_PREFIXES = ("vision_tower.", "model.vision_tower.")


@dataclass(frozen=True)
class TowerFamily:
    name: str = field(metadata={"help": "lowercase registry name, e.g. clip"})
    label: str = field(metadata={"help": "readable name, e.g. CLIP"})
    vision_types: Tuple[str, ...] = field(metadata={"help": "vision config model_type(s), e.g. clip_vision_model"})
    model_types: Tuple[str, ...] = field(metadata={"help": "model_type(s) of a folder holding this tower alone"})
    config_class: str = field(metadata={"help": "transformers config class of the tower, e.g. CLIPVisionConfig"})
    model_class: str = field(metadata={"help": "transformers model class of the tower, e.g. CLIPVisionModel"})
    class_token: bool = field(metadata={"help": "whether token 0 of every layer is a class token"})
    unread_modules: Tuple[str, ...] = field(
        metadata={"help": "modules under vision_model. the probe never reads; a checkpoint may lack them"})
    default_mean: Tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)  # OpenAI CLIP's
    default_std: Tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
    default_center_crop: bool = field(default=True, metadata={
        "help": "without preprocessor_config.json: resize the shortest side and center-crop (True) "
                "or resize to a square (False)"})

    def make_config(self, vision_config: Dict[str, Any]):
        """The tower's config object (no weights, no module): what --layers and preprocessing read."""
        import transformers

        return getattr(transformers, self.config_class)(**vision_config)

    def __post_init__(self):
        if not self.vision_types:
            raise ValueError(f"tower family {self.name!r}: vision_types is empty")


@dataclass(frozen=True)
class VlmFormat:
    model_type: str = field(metadata={"help": "config.json model_type"})
    label: str = field(metadata={"help": "readable name, e.g. LLaVA-OneVision-hf"})
    architectures: Tuple[str, ...] = field(metadata={"help": "config.json architectures this format writes"})
    default_tower: str = field(metadata={"help": "tower family when vision_config names no model_type"})
    key_prefixes: Tuple[str, ...] = VLM_TOWER_PREFIXES
    reads: Optional[str] = field(default=None, metadata={
        "help": "config key naming the tower layer the VLM reads, or None (see reads_note)"})
    reads_note: str = ""

    def __post_init__(self):
        if not self.architectures or not self.key_prefixes:
            raise ValueError(f"VLM format {self.model_type!r}: architectures and key_prefixes must not be empty")

    def read_layer(self, config: Dict[str, Any]) -> str:
        """What the VLM itself reads of its tower, in the probe's layer indexing, for the description."""
        if self.reads and self.reads in config:
            return f"the VLM reads layer {config[self.reads]} ({self.reads})"
        return self.reads_note


TOWER_FAMILIES: Registry = Registry("vision tower family")
TOWER_FAMILIES.register("clip", TowerFamily(
    name="clip", label="CLIP", vision_types=("clip_vision_model",), model_types=("clip", "clip_vision_model"),
    config_class="CLIPVisionConfig", model_class="CLIPVisionModel", class_token=True,
    unread_modules=("post_layernorm",)))
TOWER_FAMILIES.register("siglip", TowerFamily(
    name="siglip", label="SigLIP", vision_types=("siglip_vision_model",), model_types=("siglip", "siglip_vision_model"),
    # SiglipVisionModel is in transformers >= 4.37.0
    config_class="SiglipVisionConfig", model_class="SiglipVisionModel", class_token=False,
    # LLaVA-OneVision and PaliGemma drop the attention-pooling head (vision_use_head=False)
    unread_modules=("post_layernorm", "head"),
    default_mean=(0.5, 0.5, 0.5), default_std=(0.5, 0.5, 0.5), default_center_crop=False))

VLM_FORMATS: Registry = Registry("VLM checkpoint format")
VLM_FORMATS.register("llava", VlmFormat(
    model_type="llava", label="LLaVA-1.5-hf", architectures=("LlavaForConditionalGeneration",),
    default_tower="clip", reads="vision_feature_layer"))
VLM_FORMATS.register("llava_next", VlmFormat(
    model_type="llava_next", label="LLaVA-NeXT-hf", architectures=("LlavaNextForConditionalGeneration",),
    default_tower="clip", reads="vision_feature_layer"))
VLM_FORMATS.register("llava_onevision", VlmFormat(
    model_type="llava_onevision", label="LLaVA-OneVision-hf",
    architectures=("LlavaOnevisionForConditionalGeneration",), default_tower="siglip", reads="vision_feature_layer"))
VLM_FORMATS.register("paligemma", VlmFormat(
    model_type="paligemma", label="PaliGemma", architectures=("PaliGemmaForConditionalGeneration",),
    default_tower="siglip",
    reads_note="the VLM reads the last block after post_layernorm (the probe's -1 is before it)"))


def _families() -> List[TowerFamily]:
    return [TOWER_FAMILIES.get(name) for name in TOWER_FAMILIES.names()]


def _family_with(types: str, value: str) -> Optional[TowerFamily]:
    """The first family whose `types` field ('vision_types' or 'model_types') holds `value`."""
    return next((family for family in _families() if value in getattr(family, types)), None)


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
        optional = (self.folder / PREPROCESSOR, self.index_file)
        return [self.folder / CONFIG, *self.weight_files, *(path for path in optional if path and path.is_file())]


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
        """The tower in the named folder; `file_check(path)` (the pre-flight's completeness check) runs
        before a weight file's header is read."""
        folder = self.folder(name)
        found_family, vision_config, source, prefixes, notes = _classify(folder, _read_config(folder), self.vlm_only)
        if self.family is not None and found_family.name != self.family:
            raise EncoderSpecError(
                f"{folder}: holds a {found_family.label} vision tower ({source}), not "
                f"{TOWER_FAMILIES.get(self.family).label}: use hf_{found_family.name}:{folder}")
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
        files = tuple(sorted(set(tower.values()))) or tuple(folder / f for f in SINGLE_FILES
                                                            if (folder / f).is_file())[:1]
        return TowerLayout(folder=folder, family=found_family, vision_config=vision_config, source=source,
                           key_prefix=prefix, key_files=tower, weight_files=files, index_file=index_file, notes=notes)

    def encoder_id(self, name: str) -> str:
        return f"{self.prefix}:{self.folder(name).resolve()}"

    def identify(self, name: str) -> EncoderIdentity:
        return EncoderIdentity(encoder_id=self.encoder_id(name),
                               fingerprint=files_fingerprint(self.layout(name).fingerprint_files()))

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
    alone = _family_with("model_types", model_type) if isinstance(model_type, str) else None
    if alone is not None:
        if vlm_only:
            raise EncoderSpecError(f"{path}: model_type {model_type!r} is a {alone.label} tower on its own, not a VLM "
                                   f"checkpoint: use hf_{alone.name}:{folder}")
        if model_type in alone.vision_types:
            return alone, dict(config), f"{alone.label} vision tower folder", ("",), ()
        source = f"{alone.label} model folder (its vision half)"
        return alone, _full_model_vision_config(path, config, alone), source, ("",), ()
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
    known = sorted({t for family in _families() for t in family.model_types})
    raise EncoderSpecError(
        f"{path}: model_type {model_type!r} is neither a vision tower ({', '.join(known)}) nor a known VLM checkpoint "
        f"({', '.join(VLM_FORMATS.get(n).label for n in VLM_FORMATS.names())}), and it has no vision_config with a "
        "model_type")


def _vision_family(path: Path, vision_config: Dict[str, Any], default: Optional[str]) -> TowerFamily:
    vision_type = vision_config.get("model_type")
    if vision_type is None and default is not None:
        return TOWER_FAMILIES.get(default)
    family = _family_with("vision_types", str(vision_type))
    if family is None:
        known = sorted(t for family in _families() for t in family.vision_types)
        raise EncoderSpecError(f"{path}: vision_config model_type {vision_type!r} is not a known vision tower "
                               f"({', '.join(known)})")
    return family


def _with_type(vision_config: Dict[str, Any], family: TowerFamily) -> Dict[str, Any]:
    return {**vision_config, "model_type": vision_config.get("model_type", family.vision_types[0])}


def _full_model_vision_config(path: Path, config: Dict[str, Any], family: TowerFamily) -> Dict[str, Any]:
    # old CLIP configs keep the values that differ from the defaults in `vision_config_dict`,
    # which the full model's config lays over `vision_config` (as CLIPConfig does)
    parts = [part for part in (config.get("vision_config"), config.get("vision_config_dict")) if isinstance(part, dict)]
    if not parts:
        raise EncoderSpecError(f"{path}: a {config.get('model_type')} model config without a vision_config object")
    return _with_type({key: value for part in parts for key, value in part.items()}, family)


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
            f"{folder}: config.json's tower has {blocks} blocks, the weights under "
            f"{prefix or '(no prefix)'}vision_model. hold blocks {_ranges(sorted(found))}"
            + (f" (missing: {_ranges(missing)})" if missing else ""))
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


class HfVisionFeatureEncoder(FeatureEncoder):
    def __init__(self, encoder_id: str, layout: TowerLayout, device: str = "cpu", dtype: torch.dtype = torch.float32):
        import transformers

        self.encoder_id = encoder_id
        config = layout.config
        self.image_processor, self.preprocessing = tower_image_processor(layout, config)
        self.model = getattr(transformers, layout.family.model_class)(config)
        load_tower_weights(self.model, read_tower_state(layout), layout)
        self.model.to(device=device, dtype=dtype).eval().requires_grad_(False)
        self.num_layers = config.num_hidden_layers
        self.class_token = layout.family.class_token
        self.device, self.dtype = torch.device(device), dtype

    @torch.no_grad()
    def hidden_states(self, pixels: torch.Tensor, hidden_indices: Sequence[int]) -> Dict[int, torch.Tensor]:
        out = self.model(pixel_values=pixels.to(device=self.device, dtype=self.dtype), output_hidden_states=True)
        states = {index: out.hidden_states[index] for index in hidden_indices}
        if not self.class_token:
            states = {index: torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)
                      for index, tokens in states.items()}
        return states


def read_tower_state(layout: TowerLayout) -> Dict[str, torch.Tensor]:
    """{'vision_model.<...>': tensor} of the tower in `layout`."""
    head = layout.key_prefix + "vision_model."
    by_file: Dict[Path, List[str]] = defaultdict(list)
    for key, path in layout.key_files.items():
        by_file[path].append(key)
    state = {key: value for path, keys in sorted(by_file.items()) for key, value in _read_keys(path, keys).items()}
    if not by_file:  # a single .bin file, not listable before it is read
        path = layout.weight_files[0]
        state = {key: value for key, value in read_state_dict(path).items() if key.startswith(head)}
        if layout.key_prefix + SIGNATURE not in state:
            raise EncoderSpecError(
                f"{path}: no vision tower weights under {head!r} (no {layout.key_prefix}{SIGNATURE})")
    return {key[len(layout.key_prefix):]: value for key, value in state.items()
            if not key.endswith(IGNORED_SUFFIXES)}


def load_tower_weights(model: torch.nn.Module, state: Dict[str, torch.Tensor], layout: TowerLayout) -> None:
    for name in layout.family.unread_modules:
        if hasattr(model.vision_model, name) and not any(k.startswith(f"vision_model.{name}.") for k in state):
            setattr(model.vision_model, name, torch.nn.Identity())  # absent from the checkpoint, never read
    expected = {key: value.shape for key, value in model.state_dict().items() if not key.endswith(IGNORED_SUFFIXES)}
    wrong = [f"{key} {tuple(state[key].shape)} vs {tuple(shape)}" for key, shape in expected.items()
             if key in state and tuple(state[key].shape) != tuple(shape)]
    where = f"{layout.folder} ({layout.source}, tower keys under {layout.key_prefix or '(no prefix)'}vision_model.)"
    for problems, what, shown in ((sorted(set(expected) - set(state)), "not found in the checkpoint", 3),
                                  (sorted(set(state) - set(expected)), "that config.json's tower does not have", 3),
                                  (wrong, "whose shape does not fit config.json (checkpoint vs config)", 2)):
        if problems:
            raise EncoderSpecError(f"{where}: {len(problems)} tower weight(s) {what}, e.g. {problems[:shown]}")
    model.load_state_dict(state, strict=False)  # strictness checked above, with messages that name the folder


def _read_keys(path: Path, keys: List[str]) -> Dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            return {key: handle.get_tensor(key) for key in keys}
    everything = read_state_dict(path)
    absent = [key for key in keys if key not in everything]
    if absent:
        raise EncoderSpecError(f"{path}: the weight index lists {absent[:3]} in it, but the file does not hold them")
    return {key: everything[key] for key in keys}


def tower_image_processor(layout: TowerLayout, config) -> Tuple[Any, str]:
    """(processor with `.preprocess(images, return_tensors='pt')`, a sentence describing it)."""
    path = layout.folder / PREPROCESSOR
    if path.is_file():
        values = read_json(path, "image preprocessor config", dict, "a JSON object", EncoderSpecError)
        origin = f"{PREPROCESSOR} ({values.get('image_processor_type', 'no image_processor_type')})"
        if values.get("image_grid_pinpoints"):
            origin += ", one view at the base resolution (the VLM's high-resolution tiles are not made)"
    else:
        values = {}
        origin = f"{layout.family.label} default, no {PREPROCESSOR}"
    settings, (height, width) = _settings(values, layout.family, config, path)
    if (height, width) != (config.image_size, config.image_size):
        raise EncoderSpecError(f"{path}: makes {height}x{width} images, the tower in {layout.folder} takes "
                               f"{config.image_size}x{config.image_size}")
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(**settings, do_convert_rgb=True), f"{origin}: {_describe(settings)}"


def _settings(values: Dict[str, Any], family: TowerFamily, config, path) -> Tuple[Dict[str, Any], Tuple[int, int]]:
    """(CLIPImageProcessor's arguments, the (height, width) of the images it makes)."""
    square = not family.default_center_crop  # how a bare number or a missing size is meant
    size = _size(values.get("size", config.image_size), square, path, "size")
    crop = _size(values.get("crop_size", config.image_size), True, path, "crop_size")
    do_center_crop = bool(values.get("do_center_crop", "crop_size" in values or (not values and not square)))
    do_resize = bool(values.get("do_resize", True))
    if do_center_crop:
        output = (crop["height"], crop["width"])
    elif do_resize and "height" in size:
        output = (size["height"], size["width"])
    else:
        raise EncoderSpecError(f"{path}: images of any size (resize by {size} and no center crop); the tower "
                               "needs one size")
    return {"do_resize": do_resize, "size": size, "resample": int(values.get("resample", 3)),
            "do_center_crop": do_center_crop, "crop_size": crop, "do_rescale": bool(values.get("do_rescale", True)),
            "rescale_factor": float(values.get("rescale_factor", 1 / 255)),
            "do_normalize": bool(values.get("do_normalize", True)),
            "image_mean": [float(v) for v in values.get("image_mean", family.default_mean)],
            "image_std": [float(v) for v in values.get("image_std", family.default_std)]}, output


def _size(value, square: bool, path, key: str) -> Dict[str, int]:
    if isinstance(value, int):
        return {"height": value, "width": value} if square else {"shortest_edge": value}
    if isinstance(value, dict) and "height" in value and "width" in value:
        return {"height": int(value["height"]), "width": int(value["width"])}
    if isinstance(value, dict) and "shortest_edge" in value:
        return {"shortest_edge": int(value["shortest_edge"])}
    raise EncoderSpecError(f"{path}: {key} {value!r} is not a number, {{height, width}} or {{shortest_edge}}")


def _describe(settings: Dict[str, Any]) -> str:
    size = settings["size"]
    resize = (f"resize the shortest side to {size['shortest_edge']}" if "shortest_edge" in size
              else f"resize to {size['height']}x{size['width']}")
    parts = [resize if settings["do_resize"] else "no resize"]
    if settings["do_center_crop"]:
        parts.append(f"center crop {settings['crop_size']['height']}x{settings['crop_size']['width']}")
    parts.append(RESAMPLE_NAMES.get(settings["resample"], f"resample {settings['resample']}"))
    if settings["do_normalize"]:
        mean, std = (tuple(round(v, 4) for v in settings[key]) for key in ("image_mean", "image_std"))
        parts.append(f"mean {mean} std {std}")
    return ", ".join(parts)
