"""A LLaVA-compatible image processor built locally from open_clip's preprocessing settings.

LLaVA calls `processor.preprocess(img, return_tensors='pt')['pixel_values']` and reads
`.image_mean` and `.crop_size`; transformers' CLIPImageProcessor provides exactly that and can be
constructed from numbers, so nothing is fetched from a hub. open_clip's default eval transform
(resize the shortest side, bicubic, center crop, normalize) maps onto it one to one.
"""
from __future__ import annotations

from typing import Any, Mapping
from socialfusion_plugin.errors import UserInputError

_RESAMPLE = {"bicubic": 3, "bilinear": 2, "nearest": 0}  # PIL codes


def build_image_processor(preprocess_cfg: Mapping[str, Any]):
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
