"""Frozen features of image items, computed in batches and cached on disk.

One cache file holds one feature matrix: (unique items, width) float32 `.npy` (never pickle), for
one encoder x layer x pooling x region mode x list of items. Its name is the sha256 of
{encoder id, weights fingerprint, layer, pooling, region, items digest}, where the items digest
covers every image's resolved path, size and modification time and its box. A sidecar `.json`
keeps the readable part of the key. All requested (layer, pooling) pairs that are missing are
extracted in ONE pass over the images; if none is missing the encoder is never built.

Memory stays flat: images are decoded batch by batch and each batch's features are written into
memory-mapped output files, renamed into place only when complete (an interrupted run leaves no
file that a later run could mistake for a finished one).
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch

from ..atomic_files import atomic_write_json
from ..progress import progress_bar
from ..tasks.geometry import pixel_crop
from .encoders import EncoderIdentity, FeatureEncoder
from .fingerprint import image_key, text_digest
from .probe_data import ImageItem
from socialfusion_plugin.errors import UserInputError

POOLINGS = ("mean", "cls", "cls_mean")
REGIONS = ("full", "region")
FeatureKey = Tuple[int, str]  # (layer, pooling)


def pool_tokens(tokens: torch.Tensor, pooling: str) -> torch.Tensor:
    """(batch, 1 + patches, width) -> (batch, width or 2*width). CLS is token 0 for every encoder."""
    if pooling == "cls":
        return tokens[:, 0]
    if pooling == "mean":
        return tokens[:, 1:].mean(dim=1)  # patch tokens only: CLS is a separate choice
    if pooling == "cls_mean":
        return torch.cat([tokens[:, 0], tokens[:, 1:].mean(dim=1)], dim=1)
    raise UserInputError(f"unknown pooling {pooling!r}; choose from {', '.join(POOLINGS)}")


def load_region(item: ImageItem):
    """The RGB image, cropped to the item's normalized box (at least one pixel) when it has one."""
    from PIL import Image

    with Image.open(item.path) as opened:
        image = opened.convert("RGB")
    if item.box is None:
        return image
    return image.crop(pixel_crop(item.box, *image.size))


@dataclass
class ExtractionStats:
    cache_hits: int = 0  # feature matrices read from the cache
    extracted: int = 0  # feature matrices computed
    images_encoded: int = 0  # unique images (regions) passed through an encoder


class FeatureCache:
    def __init__(self, cache_dir: Path, batch_size: int = 32, workers: int = 4, progress: bool = True):
        if batch_size <= 0:
            raise UserInputError("batch size must be positive")
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size
        self.workers = max(1, workers)
        self.progress = progress
        self.stats = ExtractionStats()

    def features(self, identity: EncoderIdentity, get_encoder: Callable[[], FeatureEncoder], items: Sequence[ImageItem],
                 keys: Sequence[FeatureKey], region: str, label: str = "") -> Dict[FeatureKey, np.ndarray]:
        """{(layer, pooling): (len(items), width)} for every key; duplicates are encoded once."""
        item_keys = [(image_key(item.path), item.box) for item in items]
        unique = dict(zip(item_keys, items))  # in order of first occurrence
        row_of = {key: row for row, key in enumerate(unique)}
        rows = np.array([row_of[key] for key in item_keys], dtype=np.int64)
        digest = text_digest("\n".join(f"{path}|{box}" for path, box in unique))
        names = {(layer, pooling): text_digest(json.dumps([identity.encoder_id, identity.fingerprint, layer, pooling,
                                                           region, digest])) for layer, pooling in keys}
        paths = {key: self.cache_dir / name[:2] / f"{name}.npy" for key, name in names.items()}
        missing = [key for key in keys if not paths[key].is_file()]
        self.stats.cache_hits += len(keys) - len(missing)
        if missing:
            self._extract(get_encoder(), list(unique.values()), {key: paths[key] for key in missing}, label)
            for layer, pooling in missing:  # the readable part of the key
                atomic_write_json(paths[(layer, pooling)].with_suffix(".json"), {
                    "encoder": identity.encoder_id, "weights_fingerprint": identity.fingerprint, "layer": layer,
                    "pooling": pooling, "region": region, "items": len(unique)}, indent=1)
        return {key: np.load(paths[key], allow_pickle=False)[rows] for key in keys}

    def _extract(self, encoder: FeatureEncoder, items: List[ImageItem], targets: Dict[FeatureKey, Path], label: str) -> None:
        layers = sorted({layer for layer, _ in targets})
        outputs: Dict[FeatureKey, np.memmap] = {}
        partial = {key: path.with_name(path.stem + f".partial-{os.getpid()}.npy") for key, path in targets.items()}
        bar = progress_bar(enabled=self.progress, total=len(items), description=f"features {label}".strip(), unit=" images")
        with ThreadPoolExecutor(self.workers) as pool:  # image decoding overlaps; order is kept
            for start in range(0, len(items), self.batch_size):
                images = list(pool.map(load_region, items[start:start + self.batch_size]))
                tokens = encoder.extract(encoder.preprocess(images), layers)
                for key, path in partial.items():
                    batch = pool_tokens(tokens[key[0]], key[1]).float().cpu().numpy()
                    if key not in outputs:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        outputs[key] = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                                                 shape=(len(items), batch.shape[1]))
                    outputs[key][start:start + len(batch)] = batch
                bar.update(len(images))
        bar.close()
        for array in outputs.values():
            array.flush()
        outputs.clear()  # close the memory maps before the files move into place
        for key in targets:
            os.replace(partial[key], targets[key])
        self.stats.extracted += len(targets)
        self.stats.images_encoded += len(items)
