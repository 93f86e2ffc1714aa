"""A frozen open_clip vision tower with the interface LLaVA expects of a vision tower.

It is the "original state" encoder of SocialFusion: weights exactly as released, never trained,
never wrapped by LoRA, always in eval mode, and its forward runs without autograd so it can receive
no gradient whatever flags the training run passes.

LLaVA's layer selection is kept: `--mm_vision_select_layer k` indexes hidden states the way
Hugging Face's CLIP does (index 0 = embeddings, i = output of block i, negative from the end), so
the default -2 (second-to-last block) picks the same features for the same weights.

The activation is the one the weights were trained with. OpenAI's CLIP weights use QuickGELU; open_clip
records that on the pretrained tag (`openai`), not on the architecture (`ViT-L-14-336` is built with
GELU, `ViT-L-14-336-quickgelu` with QuickGELU), and only warns when they differ. A tag whose weights
need QuickGELU builds it here, so `open_clip:ViT-L-14-336@openai` computes what LLaVA-1.5's HF tower
(`openai/clip-vit-large-patch14-336`, hidden_act quick_gelu) computes. For a local file the
architecture decides: name a `-quickgelu` architecture for OpenAI weights.
"""
from __future__ import annotations

import contextlib
import logging
from types import SimpleNamespace
from typing import List, Optional, Union

import torch
import torch.nn as nn

from .image_processor import build_image_processor
from .tower_spec import PREFIX, OpenClipTowerSpec, VisionTowerSpecError
from .weights import load_visual_state_dict

SELECT_FEATURES = ("patch", "cls_patch")


class OpenClipVisionTower(nn.Module):
    def __init__(self, vision_tower: str, args=None, delay_load: bool = False):
        super().__init__()
        self.is_loaded = False
        self.spec = OpenClipTowerSpec.parse(vision_tower)
        self.vision_tower_name = self.spec.as_string()
        self.select_layer = int(getattr(args, "mm_vision_select_layer", -2) if args is not None else -2)
        self.select_feature = getattr(args, "mm_vision_select_feature", "patch") if args is not None else "patch"
        if self.select_feature not in SELECT_FEATURES:
            raise VisionTowerSpecError(
                f"mm_vision_select_feature must be one of {SELECT_FEATURES}, got {self.select_feature!r}"
            )
        vision_cfg = self.spec.vision_config()
        self.cfg_only = _tower_config(vision_cfg)
        self._block_index = self._resolve_block_index(self.select_layer, self.cfg_only.num_hidden_layers)
        if not delay_load:
            self.load_model()

    @staticmethod
    def _resolve_block_index(select_layer: int, num_layers: int) -> int:
        # Hugging Face hidden_states has num_layers + 1 entries; entry i >= 1 is block i-1's output.
        hidden_index = select_layer if select_layer >= 0 else num_layers + 1 + select_layer
        if not 1 <= hidden_index <= num_layers:
            raise VisionTowerSpecError(
                f"mm_vision_select_layer={select_layer} is outside the tower's {num_layers} blocks "
                f"(valid: 1..{num_layers} or -1..-{num_layers})"
            )
        return hidden_index - 1

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
        preprocess = self._preprocess_cfg(open_clip, visual)
        self.image_processor = build_image_processor(preprocess)
        self.vision_tower = visual
        self.vision_tower.requires_grad_(False)
        self.vision_tower.eval()
        device = _device_from_map(device_map)
        if device is not None:
            self.vision_tower.to(device)
        self.is_loaded = True

    def _preprocess_cfg(self, open_clip, visual) -> dict:
        cfg = dict(open_clip.get_model_preprocess_cfg(visual))
        if not self.spec.weights_is_file:
            pretrained = open_clip.get_pretrained_cfg(self.spec.architecture, self.spec.weights) or {}
            for key in ("mean", "std", "interpolation", "resize_mode"):
                if pretrained.get(key) is not None:
                    cfg[key] = pretrained[key]
        cfg.setdefault("size", self.cfg_only.image_size)
        cfg.setdefault("mean", open_clip.OPENAI_DATASET_MEAN)
        cfg.setdefault("std", open_clip.OPENAI_DATASET_STD)
        return cfg

    def train(self, mode: bool = True):
        # Frozen in its original state: dropout/patch-dropout stay off even when the model trains.
        super().train(mode)
        if self.is_loaded:
            self.vision_tower.eval()
        return self

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        out = self.vision_tower.forward_intermediates(
            images.to(device=self.device, dtype=self.dtype),
            indices=[self._block_index],
            stop_early=True,
            intermediates_only=True,
            output_fmt="NLC",
            output_extra_tokens=self.select_feature == "cls_patch",
        )
        patches = out["image_intermediates"][0]
        if self.select_feature == "cls_patch":
            patches = torch.cat([out["image_intermediates_prefix"][0], patches], dim=1)
        return patches

    @torch.no_grad()
    def forward(self, images: Union[torch.Tensor, List[torch.Tensor]]) -> Union[torch.Tensor, List[torch.Tensor]]:
        if isinstance(images, list):
            return [self._features(image.unsqueeze(0)).to(image.dtype) for image in images]
        return self._features(images).to(images.dtype)

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
    def config(self) -> SimpleNamespace:
        return self.cfg_only

    @property
    def hidden_size(self) -> int:
        return self.cfg_only.hidden_size

    @property
    def num_patches_per_side(self) -> int:
        return self.cfg_only.image_size // self.cfg_only.patch_size

    @property
    def num_patches(self) -> int:
        return self.num_patches_per_side ** 2


def weights_need_quick_gelu(spec: OpenClipTowerSpec) -> bool:
    """Whether the tower's pretrained tag was trained with QuickGELU (OpenAI's CLIP weights, and a few
    others) while open_clip would build the architecture with GELU. A local checkpoint file carries no
    such record: its architecture decides."""
    if spec.weights_is_file:
        return False
    import open_clip

    return bool((open_clip.get_pretrained_cfg(spec.architecture, spec.weights) or {}).get("quick_gelu"))


class _RandomInitFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


@contextlib.contextmanager
def quiet_random_init_warning():
    """open_clip warns "Model initialized randomly" when built without a tag; the weights are loaded
    right after from the local checkpoint, so the warning would only mislead."""
    root = logging.getLogger()
    log_filter = _RandomInitFilter()
    root.addFilter(log_filter)
    try:
        yield
    finally:
        root.removeFilter(log_filter)


def _tower_config(vision_cfg: dict) -> SimpleNamespace:
    image_size = vision_cfg.get("image_size", 224)
    patch_size = vision_cfg.get("patch_size", 16)
    if isinstance(image_size, (list, tuple)):
        image_size = image_size[0]
    if isinstance(patch_size, (list, tuple)):
        patch_size = patch_size[0]
    if "width" not in vision_cfg or "layers" not in vision_cfg or isinstance(vision_cfg["layers"], (list, tuple)):
        raise VisionTowerSpecError(
            "only open_clip ViT towers (vision_cfg with integer 'layers' and 'width') are supported"
        )
    return SimpleNamespace(
        hidden_size=int(vision_cfg["width"]),
        image_size=int(image_size),
        patch_size=int(patch_size),
        num_hidden_layers=int(vision_cfg["layers"]),
    )


def _device_from_map(device_map) -> Optional[torch.device]:
    if device_map in (None, "auto"):
        return None
    if isinstance(device_map, dict):
        device_map = device_map.get("", None)
        if device_map is None:
            return None
    return torch.device(device_map)


def build_open_clip_tower(name: str, args=None, delay_load: bool = False) -> OpenClipVisionTower:
    """Vision-encoder registry entry: `name` is the full `open_clip:ARCH@WEIGHTS` string."""
    return OpenClipVisionTower(name, args=args, delay_load=delay_load)


ENCODER_NAME = PREFIX
