"""A frozen open_clip vision tower with the interface LLaVA expects of a vision tower.

It is the "original state" encoder of SocialFusion: weights exactly as released, never trained,
never wrapped by LoRA, always in eval mode, and its forward runs without autograd so it can receive
no gradient whatever flags the training run passes.

It computes what LLaVA's Hugging Face tower computes for the same weights (docs/training.md, "The
frozen vision tower"): `--mm_vision_select_layer` indexes hidden states as HF CLIP does, and the
activation is the one the weights were trained with. open_clip records QuickGELU on the pretrained
tag (`openai`), not on the architecture, and only warns when they differ, so a tag whose weights
need it builds it here; a local file carries no such record: its architecture decides.
Weights are read without arbitrary unpickling (safetensors, or torch.load with weights_only=True).
Its image processor is built locally from open_clip's preprocessing settings: nothing is fetched from a hub.
"""
from __future__ import annotations

import contextlib
import logging
from types import SimpleNamespace
from typing import Any, Dict, List, Mapping, Union

import torch
import torch.nn as nn

from ..errors import UserInputError
from .tower_spec import OpenClipTowerSpec, VisionTowerSpecError

SELECT_FEATURES = ("patch", "cls_patch")
_RESAMPLE = {"bicubic": 3, "bilinear": 2, "nearest": 0}  # PIL codes
_CHECK_ARCH = "Check that ARCH in --vision_tower open_clip:ARCH@WEIGHTS is the checkpoint's architecture."


class OpenClipVisionTower(nn.Module):
    """The vision-encoder registry entry for `open_clip:`: `vision_tower` is the full `open_clip:ARCH@WEIGHTS`."""

    def __init__(self, vision_tower: str, args=None, delay_load: bool = False):
        super().__init__()
        self.is_loaded = False
        self.spec = OpenClipTowerSpec.parse(vision_tower)
        self.vision_tower_name = self.spec.as_string()
        self.select_layer = int(getattr(args, "mm_vision_select_layer", -2))  # args=None: LLaVA's defaults
        self.select_feature = getattr(args, "mm_vision_select_feature", "patch")
        if self.select_feature not in SELECT_FEATURES:
            raise VisionTowerSpecError(
                f"mm_vision_select_feature must be one of {SELECT_FEATURES}, got {self.select_feature!r}")
        self.config = _tower_config(self.spec.vision_config())
        # Hugging Face hidden_states has num_layers + 1 entries; entry i >= 1 is block i-1's output.
        layers = self.config.num_hidden_layers
        hidden_index = self.select_layer if self.select_layer >= 0 else layers + 1 + self.select_layer
        if not 1 <= hidden_index <= layers:
            raise VisionTowerSpecError(f"mm_vision_select_layer={self.select_layer} is outside the tower's {layers} "
                                       f"blocks (valid: 1..{layers} or -1..-{layers})")
        self._block_index = hidden_index - 1
        if not delay_load:
            self.load_model()

    def load_model(self, device_map=None) -> None:
        if self.is_loaded:
            return
        import open_clip

        weights_path = self.spec.resolve_weights()
        self.spec.register_architecture()
        with quiet_random_init_warning():
            clip = open_clip.create_model(self.spec.architecture, pretrained=None, device="cpu",
                                          force_quick_gelu=weights_need_quick_gelu(self.spec))
        visual = clip.visual
        del clip  # the text tower is not needed; free it before loading weights
        load_visual_state_dict(visual, weights_path)
        self.image_processor = build_image_processor(self._preprocess_cfg(open_clip, visual))
        self.vision_tower = visual.requires_grad_(False).eval()
        if isinstance(device_map, dict):  # {"": device}: the whole model on one device
            device_map = device_map.get("")
        if device_map not in (None, "auto"):
            self.vision_tower.to(torch.device(device_map))
        self.is_loaded = True

    def _preprocess_cfg(self, open_clip, visual) -> dict:
        cfg = dict(open_clip.get_model_preprocess_cfg(visual))
        if not self.spec.weights_is_file:
            pretrained = open_clip.get_pretrained_cfg(self.spec.architecture, self.spec.weights) or {}
            cfg.update({key: pretrained[key] for key in ("mean", "std", "interpolation", "resize_mode")
                        if pretrained.get(key) is not None})
        cfg.setdefault("size", self.config.image_size)
        cfg.setdefault("mean", open_clip.OPENAI_DATASET_MEAN)
        cfg.setdefault("std", open_clip.OPENAI_DATASET_STD)
        return cfg

    def train(self, mode: bool = True):
        # Frozen in its original state: dropout/patch-dropout stay off even when the model trains.
        super().train(mode)
        if self.is_loaded:
            self.vision_tower.eval()
        return self

    def block_tokens(self, images: torch.Tensor, blocks: List[int], with_class_token: bool) -> List[torch.Tensor]:
        """Tokens (batch, tokens, width) output by each of `blocks` (0-based), the class token first if asked."""
        out = self.vision_tower.forward_intermediates(
            images.to(device=self.device, dtype=self.dtype), indices=blocks, stop_early=True,
            intermediates_only=True, output_fmt="NLC", output_extra_tokens=with_class_token)
        if not with_class_token:
            return out["image_intermediates"]
        return [torch.cat([prefix, patches], dim=1)
                for prefix, patches in zip(out["image_intermediates_prefix"], out["image_intermediates"])]

    @torch.no_grad()
    def forward(self, images: Union[torch.Tensor, List[torch.Tensor]]) -> Union[torch.Tensor, List[torch.Tensor]]:
        with_class_token = self.select_feature == "cls_patch"
        if isinstance(images, list):
            return [self.block_tokens(image.unsqueeze(0), [self._block_index], with_class_token)[0].to(image.dtype)
                    for image in images]
        return self.block_tokens(images, [self._block_index], with_class_token)[0].to(images.dtype)

    @property
    def dummy_feature(self) -> torch.Tensor:
        return torch.zeros(1, self.hidden_size, device=self.device, dtype=self.dtype)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.vision_tower.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.vision_tower.parameters()).device

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    @property
    def num_patches_per_side(self) -> int:
        return self.config.image_size // self.config.patch_size

    @property
    def num_patches(self) -> int:
        return self.num_patches_per_side ** 2


class VisionWeightsError(UserInputError):
    """A checkpoint that does not fit the tower."""


def _read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """A state dict from .safetensors or a torch file loaded with weights_only=True."""
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        state = load_file(path, device="cpu")
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # pickle of arbitrary objects, JIT archives, truncated files
            raise VisionWeightsError(
                f"{path}: cannot be read as a plain state dict with weights_only=True ({type(err).__name__}: "
                f"{str(err).splitlines()[0][:200]}). Save it as a state dict or .safetensors."
            ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        raise VisionWeightsError(f"{path}: expected a non-empty state dict")
    if all(key.startswith("module.") for key in state):
        state = {key[len("module."):]: value for key, value in state.items()}
    return state


def load_visual_state_dict(visual: nn.Module, path: str) -> None:
    """Load the vision part of a CLIP checkpoint (keys `visual.*`) or a vision-only checkpoint."""
    state = _read_state_dict(path)
    if any(key.startswith("visual.") for key in state):
        state = {key[len("visual."):]: value for key, value in state.items() if key.startswith("visual.")}
    try:
        missing, unexpected = visual.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches raise even with strict=False
        raise VisionWeightsError(
            f"{path}: does not match the vision tower architecture ({str(err).splitlines()[-1].strip()}). {_CHECK_ARCH}"
        ) from None
    if missing or unexpected:
        raise VisionWeightsError(
            f"{path}: does not match the vision tower architecture "
            f"(missing {len(missing)} keys, e.g. {missing[:3]}; unexpected {len(unexpected)}, e.g. {unexpected[:3]}). "
            + _CHECK_ARCH)


def weights_need_quick_gelu(spec: OpenClipTowerSpec) -> bool:
    """Whether the tower's pretrained tag was trained with QuickGELU (see the module docstring)."""
    if spec.weights_is_file:
        return False
    import open_clip

    return bool((open_clip.get_pretrained_cfg(spec.architecture, spec.weights) or {}).get("quick_gelu"))


@contextlib.contextmanager
def quiet_random_init_warning():
    """open_clip warns "Model initialized randomly" when built without a tag; the weights are loaded
    right after from the local checkpoint, so the warning would only mislead."""
    def keep(record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _tower_config(vision_cfg: dict) -> SimpleNamespace:
    if "width" not in vision_cfg or "layers" not in vision_cfg or isinstance(vision_cfg["layers"], (list, tuple)):
        raise VisionTowerSpecError(
            "only open_clip ViT towers (vision_cfg with integer 'layers' and 'width') are supported")
    sizes = {key: vision_cfg.get(key, default) for key, default in (("image_size", 224), ("patch_size", 16))}
    sizes = {key: int(value[0] if isinstance(value, (list, tuple)) else value) for key, value in sizes.items()}
    return SimpleNamespace(hidden_size=int(vision_cfg["width"]), num_hidden_layers=int(vision_cfg["layers"]), **sizes)


def build_image_processor(preprocess_cfg: Mapping[str, Any]):
    """transformers' CLIPImageProcessor from open_clip's preprocessing numbers: it has the
    `preprocess(img, return_tensors='pt')`, `.image_mean` and `.crop_size` LLaVA uses, and open_clip's
    default eval transform (resize the shortest side, bicubic, center crop, normalize) maps onto it one to one."""
    from transformers import CLIPImageProcessor

    size = preprocess_cfg.get("size", 224)
    height, width = (int(size[0]), int(size[1])) if isinstance(size, (list, tuple)) else (int(size), int(size))
    resize_mode = preprocess_cfg.get("resize_mode", "shortest")
    if resize_mode not in ("shortest", "squash"):
        raise UserInputError(f"unsupported open_clip resize_mode {resize_mode!r}")
    resize = {"height": height, "width": width} if resize_mode == "squash" else {"shortest_edge": min(height, width)}
    return CLIPImageProcessor(
        do_resize=True, size=resize, resample=_RESAMPLE.get(preprocess_cfg.get("interpolation", "bicubic"), 3),
        do_center_crop=True, crop_size={"height": height, "width": width}, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=[float(v) for v in preprocess_cfg.get("mean")],
        image_std=[float(v) for v in preprocess_cfg.get("std")], do_convert_rgb=True)

