"""A Hugging Face vision tower (CLIP or SigLIP) in a local folder as a probe encoder: the `hf_clip:`,
`hf_siglip:` and `hf_vlm:` kinds. `identify` and `describe` read no tensor.

The tower is built from its vision config with the family's transformers class and given only the
checkpoint's tower tensors (a VLM's language model stays on disk; a `.bin` file is read by the
allow-list unpickler of `safe_load.py`, which runs no code from it). Every tensor the probe reads
must be there with its shape; modules it never reads (`TowerFamily.unread_modules`) may be absent
and are then left out of the module. Layer -1 is the last block, before post_layernorm.

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

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from ...json_records import read_json
from ...safe_load import read_state_dict
from ..fingerprint import files_fingerprint
from .base import EncoderIdentity, EncoderSpecError, FeatureEncoder
from .hf_formats import TowerFamily
from .hf_tower_layout import PREPROCESSOR, SIGNATURE, TowerLayout, read_tower_layout

# a buffer that older transformers saved with the weights; recomputed by the module itself
IGNORED_SUFFIXES = ("embeddings.position_ids",)
RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


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
        return read_tower_layout(self.folder(name), family=self.family, vlm_only=self.vlm_only, file_check=file_check)

    def encoder_id(self, name: str) -> str:
        return f"{self.prefix}:{self.folder(name).resolve()}"

    def identify(self, name: str) -> EncoderIdentity:
        fingerprint = files_fingerprint(self.layout(name).fingerprint_files())
        return EncoderIdentity(encoder_id=self.encoder_id(name), fingerprint=fingerprint)

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


HF_CLIP = HfTowerKind("hf_clip", family="clip")
HF_SIGLIP = HfTowerKind("hf_siglip", family="siglip")
HF_VLM = HfTowerKind("hf_vlm", vlm_only=True)


class HfVisionFeatureEncoder(FeatureEncoder):
    def __init__(self, encoder_id: str, layout: TowerLayout, device: str = "cpu", dtype: torch.dtype = torch.float32):
        self.encoder_id = encoder_id
        config = layout.config
        self.image_processor, self.preprocessing = tower_image_processor(layout, config)
        self.model = layout.family.make_model(config)
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
    state: Dict[str, torch.Tensor] = {}
    if by_file:
        for path, keys in sorted(by_file.items()):
            state.update(_read_keys(path, keys))
    else:  # a single .bin file, not listable before it is read
        path = layout.weight_files[0]
        state = {key: value for key, value in read_state_dict(path).items() if key.startswith(head)}
        if layout.key_prefix + SIGNATURE not in state:
            raise EncoderSpecError(
                f"{path}: no vision tower weights under {head!r} (no {layout.key_prefix}{SIGNATURE})")
    return {key[len(layout.key_prefix):]: value for key, value in state.items()
            if not key.endswith(IGNORED_SUFFIXES)}


def load_tower_weights(model: torch.nn.Module, state: Dict[str, torch.Tensor], layout: TowerLayout) -> None:
    """Copy `state` into `model` (a CLIP/SigLIP vision model)."""
    for name in layout.family.unread_modules:
        if hasattr(model.vision_model, name) and not any(k.startswith(f"vision_model.{name}.") for k in state):
            setattr(model.vision_model, name, torch.nn.Identity())  # absent from the checkpoint, never read
    expected = {key: value.shape for key, value in model.state_dict().items() if not key.endswith(IGNORED_SUFFIXES)}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    where = f"{layout.folder} ({layout.source}, tower keys under {layout.key_prefix or '(no prefix)'}vision_model.)"
    if missing:
        raise EncoderSpecError(
            f"{where}: {len(missing)} tower weight(s) not found in the checkpoint, e.g. {missing[:3]}")
    if unexpected:
        raise EncoderSpecError(f"{where}: {len(unexpected)} tower weight(s) that config.json's tower does not have, "
                               f"e.g. {unexpected[:3]}")
    wrong = [f"{key} {tuple(state[key].shape)} vs {tuple(shape)}" for key, shape in expected.items()
             if tuple(state[key].shape) != tuple(shape)]
    if wrong:
        raise EncoderSpecError(f"{where}: {len(wrong)} tower weight(s) whose shape does not fit config.json "
                               f"(checkpoint vs config), e.g. {wrong[:2]}")
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
