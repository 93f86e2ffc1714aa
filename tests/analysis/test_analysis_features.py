"""Feature extraction: layer indexing like LLaVA for both encoder kinds, region crops, pooling,
and the on-disk cache (a hit never builds the encoder; a changed image or weights file misses)."""
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from socialfusion_plugin.analysis.encoders import EncoderSpecError, identify_encoder, load_encoder
from socialfusion_plugin.analysis.features import FeatureCache, load_region, pool_tokens
from socialfusion_plugin.analysis.probe_data import ImageItem
from socialfusion_plugin.model.open_clip_tower import OpenClipVisionTower


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        path = folder / f"im{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_open_clip_layers_match_the_training_tower(tiny_assets, images):
    encoder = load_encoder(tiny_assets.vision_tower)
    pixels = encoder.preprocess([Image.open(p).convert("RGB") for p in images[:2]])
    tokens = encoder.extract(pixels, [-2, -1, 3])
    tower = OpenClipVisionTower(tiny_assets.vision_tower,
                                args=SimpleNamespace(mm_vision_select_layer=-2, mm_vision_select_feature="cls_patch"))
    assert torch.allclose(tokens[-2], tower(pixels), atol=1e-6)
    assert torch.equal(tokens[-1], tokens[3])  # 3 blocks: -1 is block 3
    with pytest.raises(EncoderSpecError, match="outside"):
        encoder.extract(pixels, [0])  # open_clip exposes no embeddings output


@pytest.fixture(scope="module")
def hf_clip_folder(tmp_path_factory):
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    folder = tmp_path_factory.mktemp("hf-clip")
    torch.manual_seed(0)
    model = CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                             num_attention_heads=2, image_size=32, patch_size=8))
    model.save_pretrained(folder, safe_serialization=True)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder, model


def test_hf_clip_layers_follow_hidden_states_indexing(hf_clip_folder, images):
    folder, model = hf_clip_folder
    encoder = load_encoder(f"hf_clip:{folder}")
    pixels = encoder.preprocess([Image.open(images[0]).convert("RGB")])
    assert pixels.shape[-2:] == (32, 32)
    reference = model(pixel_values=pixels, output_hidden_states=True).hidden_states
    tokens = encoder.extract(pixels, [0, -2, -1])
    assert torch.allclose(tokens[0], reference[0]) and torch.allclose(tokens[-2], reference[1])
    assert torch.allclose(tokens[-1], reference[2])


def test_hf_vision_tower_inside_a_vlm_checkpoint(hf_clip_folder, images, tmp_path):
    """llava-hf layout: config.json with a CLIP vision_config, tower keys under a prefix."""
    from safetensors.torch import save_file

    folder, model = hf_clip_folder
    state = {f"vision_tower.{k}": v.contiguous() for k, v in model.state_dict().items()}
    state["language_model.lm_head.weight"] = torch.zeros(3, 3)
    save_file(state, str(tmp_path / "model.safetensors"))
    vision_config = json.loads((folder / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llava", "vision_config": vision_config}))
    encoder = load_encoder(f"hf_clip:{tmp_path}")
    assert "no preprocessor_config.json" in encoder.preprocessing
    pixels = encoder.preprocess([Image.open(images[0]).convert("RGB")])
    assert torch.allclose(encoder.extract(pixels, [-1])[-1], model(pixel_values=pixels, output_hidden_states=True).hidden_states[-1])
    del state["vision_tower.vision_model.post_layernorm.weight"]
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(EncoderSpecError, match="not found in the checkpoint"):
        load_encoder(f"hf_clip:{tmp_path}")


def test_unknown_encoder_kind_and_missing_folder_are_clear_errors(tmp_path):
    with pytest.raises(EncoderSpecError, match="expected one of"):
        identify_encoder(str(tmp_path))
    with pytest.raises(EncoderSpecError, match="config.json not found"):
        identify_encoder(f"hf_clip:{tmp_path}")


@pytest.mark.parametrize("text, message", [("{\"model_type\": ", "config.json"),
                                           ("[1, 2]", "expected a JSON object, got list"),
                                           ('{"a": 1, "a": 2}', "key 'a' is listed twice")])
def test_a_broken_config_is_an_error_naming_the_file(tmp_path, text, message):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(EncoderSpecError, match=message) as raised:
        identify_encoder(f"hf_clip:{tmp_path}")
    assert str(tmp_path / "config.json") in str(raised.value)


def test_region_crop_and_pooling(images):
    full = load_region(ImageItem(images[0], None))
    crop = load_region(ImageItem(images[0], (0.25, 0.5, 0.75, 1.0)))
    assert full.size == (48, 40) and crop.size == (24, 20)
    assert np.array_equal(np.asarray(crop), np.asarray(full)[20:40, 12:36])
    assert load_region(ImageItem(images[0], (0.5, 0.5, 0.5001, 0.5001))).size == (1, 1)  # never empty
    tokens = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)
    assert torch.equal(pool_tokens(tokens, "cls"), tokens[:, 0])
    assert torch.equal(pool_tokens(tokens, "mean"), tokens[:, 1:].mean(1))
    assert pool_tokens(tokens, "cls_mean").shape == (2, 4)


class CountingLoader:
    def __init__(self):
        self.builds = 0
        self.forwards = 0

    def __call__(self, name, **kwargs):
        self.builds += 1
        encoder = load_encoder(name, **kwargs)
        original = encoder.hidden_states

        def counted(pixels, indices):
            self.forwards += 1
            return original(pixels, indices)

        encoder.hidden_states = counted
        return encoder


def _features(cache, name, loader, items, keys, region="full"):
    identity = identify_encoder(name)
    return cache.features(identity, lambda: loader(name), items, keys, region)


def test_cache_hit_skips_extraction_and_changes_miss(tiny_assets, images, tmp_path):
    name = tiny_assets.vision_tower
    items = [ImageItem(p, None) for p in images] + [ImageItem(images[0], None)]  # a duplicate is encoded once
    loader = CountingLoader()
    cache = FeatureCache(tmp_path / "cache", batch_size=2, progress=False)
    first = _features(cache, name, loader, items, [(-1, "mean"), (-2, "cls")])
    assert loader.builds == 1 and loader.forwards == 3  # 5 unique images, batches of 2, both keys in one pass
    assert first[(-1, "mean")].shape == (6, 64) and np.array_equal(first[(-1, "mean")][0], first[(-1, "mean")][5])
    files = sorted((tmp_path / "cache").rglob("*.npy"))
    assert len(files) == 2 and not list((tmp_path / "cache").rglob("*partial*"))
    assert json.loads(files[0].with_suffix(".json").read_text())["items"] == 5

    again = _features(cache, name, loader, items, [(-1, "mean"), (-2, "cls")])
    assert loader.builds == 1 and loader.forwards == 3  # pure cache hit: the encoder is not even built
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert cache.stats.cache_hits == 2 and cache.stats.extracted == 2

    _features(cache, name, loader, items, [(-1, "mean"), (-1, "cls")])  # one new key: one more pass
    assert loader.builds == 2 and loader.forwards == 6
    _features(cache, name, loader, items, [(-1, "mean")], region="region")  # region mode is part of the key
    assert loader.builds == 3

    os.utime(images[1], ns=(1, 1))  # a replaced image (new mtime) misses
    _features(cache, name, loader, items, [(-1, "mean")])
    assert loader.builds == 4


def test_cache_key_follows_the_weights_file(tiny_assets, images, tmp_path):
    weights = tmp_path / "copy.pt"
    weights.write_bytes(Path(tiny_assets.tower_weights).read_bytes())
    name = f"open_clip:{tiny_assets.tower_arch}@{weights}"
    loader = CountingLoader()
    cache = FeatureCache(tmp_path / "cache", progress=False)
    items = [ImageItem(images[0], None)]
    _features(cache, name, loader, items, [(-1, "mean")])
    _features(cache, name, loader, items, [(-1, "mean")])
    assert loader.builds == 1
    state = torch.load(weights, weights_only=True)
    state["visual.conv1.weight"] += 1.0
    torch.save(state, weights)
    _features(cache, name, loader, items, [(-1, "mean")])
    assert loader.builds == 2
