from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from socialfusion_plugin.model.open_clip_tower import OpenClipVisionTower
from socialfusion_plugin.model.tower_spec import (
    OpenClipTowerSpec,
    VisionTowerSpecError,
    VisionWeightsNotFound,
)


def args(layer=-2, feature="patch"):
    return SimpleNamespace(mm_vision_select_layer=layer, mm_vision_select_feature=feature)


def test_spec_parses_tag_file_and_custom_architecture(tmp_path):
    tag = OpenClipTowerSpec.parse("open_clip:ViT-L-14-336@openai")
    assert (tag.architecture, tag.architecture_file, tag.weights, tag.weights_is_file) == (
        "ViT-L-14-336", None, "openai", False)
    local = OpenClipTowerSpec.parse("open_clip:ViT-B-16@/models/clip.safetensors")
    assert local.weights_is_file and local.weights == "/models/clip.safetensors"
    custom = OpenClipTowerSpec.parse(f"open_clip:{tmp_path}/my-vit.json@{tmp_path}/w.pt")
    assert custom.architecture == "my-vit" and custom.architecture_file == f"{tmp_path}/my-vit.json"
    assert custom.as_string() == f"open_clip:{tmp_path}/my-vit.json@{tmp_path}/w.pt"
    with pytest.raises(VisionTowerSpecError, match="ARCH>@<WEIGHTS"):
        OpenClipTowerSpec.parse("open_clip:ViT-B-16")


def test_missing_local_weights_say_what_is_missing(tmp_path):
    spec = OpenClipTowerSpec.parse(f"open_clip:ViT-B-16@{tmp_path}/absent.safetensors")
    with pytest.raises(VisionWeightsNotFound, match="absent.safetensors not found"):
        spec.resolve_weights()


def test_uncached_pretrained_tag_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = OpenClipTowerSpec.parse("open_clip:ViT-L-14-336@openai")
    with pytest.raises(VisionWeightsNotFound) as err:
        spec.resolve_weights(cache_dir=str(tmp_path))
    message = str(err.value)
    assert "never downloaded at run time" in message
    assert "timm/vit_large_patch14_clip_336.openai" in message  # where to get it
    # how to point at it: OpenAI's weights need QuickGELU, which a file cannot say, so the -quickgelu architecture
    assert "--vision_tower open_clip:ViT-L-14-336-quickgelu@/path/to/" in message


def test_unknown_tag_and_architecture_are_named():
    with pytest.raises(VisionTowerSpecError, match="no pretrained tag 'nope'"):
        OpenClipTowerSpec.parse("open_clip:ViT-B-16@nope").resolve_weights()
    with pytest.raises(VisionTowerSpecError, match="no architecture 'ViT-Imaginary'"):
        OpenClipTowerSpec.parse("open_clip:ViT-Imaginary@openai").vision_config()


def _manual_block_output(visual, images, block_index):
    x = visual._embeds(images)
    for block in visual.transformer.resblocks[: block_index + 1]:
        x = block(x)
    return x


@pytest.mark.parametrize("layer, block", [(-2, 1), (-1, 2), (1, 0), (3, 2)])
def test_select_layer_matches_hugging_face_indexing(tiny_assets, layer, block):
    # The tiny tower has 3 blocks: HF hidden_states[-2] is block 1's output, [1] is block 0's.
    tower = OpenClipVisionTower(tiny_assets.vision_tower, args(layer))
    images = torch.randn(2, 3, 32, 32)
    expected = _manual_block_output(tower.vision_tower, images, block)
    assert torch.allclose(tower(images), expected[:, 1:], atol=1e-5)
    assert tower(images).shape == (2, tower.num_patches, tower.hidden_size)


def test_cls_patch_keeps_the_class_token(tiny_assets):
    tower = OpenClipVisionTower(tiny_assets.vision_tower, args(-2, "cls_patch"))
    images = torch.randn(1, 3, 32, 32)
    expected = _manual_block_output(tower.vision_tower, images, 1)
    assert torch.allclose(tower(images), expected, atol=1e-5)
    assert tower(images).shape[1] == tower.num_patches + 1


@pytest.mark.parametrize("layer", [0, 4, -4])
def test_select_layer_outside_the_tower_is_an_error(tiny_assets, layer):
    with pytest.raises(VisionTowerSpecError, match="outside the tower's 3 blocks"):
        OpenClipVisionTower(tiny_assets.vision_tower, args(layer))


def test_tower_is_frozen_and_stays_in_eval_mode(tiny_assets):
    tower = OpenClipVisionTower(tiny_assets.vision_tower, args())
    assert not any(p.requires_grad for p in tower.parameters())
    tower.train()
    assert not tower.vision_tower.training
    images = torch.randn(1, 3, 32, 32, requires_grad=True)
    assert not tower(images).requires_grad  # no autograd graph through the tower


def test_weights_are_the_checkpoint_not_a_random_init(tiny_assets):
    expected = torch.load(tiny_assets.tower_weights, weights_only=True)
    tower = OpenClipVisionTower(tiny_assets.vision_tower, args())
    got = tower.vision_tower.state_dict()
    assert torch.equal(got["conv1.weight"], expected["visual.conv1.weight"])


def test_delay_load_builds_config_without_weights(tiny_assets):
    tower = OpenClipVisionTower(tiny_assets.vision_tower, args(), delay_load=True)
    assert not tower.is_loaded and tower.hidden_size == 64 and tower.num_patches_per_side == 4
    tower.load_model()
    assert tower.is_loaded


def test_image_processor_is_built_locally_from_open_clip_settings(tiny_assets):
    import open_clip

    tower = OpenClipVisionTower(tiny_assets.vision_tower, args())
    processor = tower.image_processor
    assert processor.crop_size == {"height": 32, "width": 32}
    assert list(processor.image_mean) == pytest.approx(list(open_clip.OPENAI_DATASET_MEAN))
    pixels = processor.preprocess(Image.new("RGB", (50, 40), (255, 0, 0)), return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, 32, 32)
    red = (1.0 - open_clip.OPENAI_DATASET_MEAN[0]) / open_clip.OPENAI_DATASET_STD[0]
    assert pixels[0, 0].mean().item() == pytest.approx(red, abs=1e-4)


def test_checkpoint_of_another_architecture_is_rejected(tiny_assets, tmp_path):
    torch.save({"visual.conv1.weight": torch.zeros(1)}, tmp_path / "wrong.pt")
    spec = f"open_clip:{tiny_assets.tower_arch}@{tmp_path / 'wrong.pt'}"
    with pytest.raises(ValueError, match="does not match the vision tower architecture"):
        OpenClipVisionTower(spec, args())


def test_an_architecture_file_named_like_a_builtin_is_used_when_equal_and_refused_when_different(tmp_path):
    import json

    import open_clip

    builtin = open_clip.get_model_config("ViT-L-14-336")
    same = tmp_path / "same" / "ViT-L-14-336.json"
    same.parent.mkdir()
    same.write_text(json.dumps(builtin), encoding="utf-8")
    spec = OpenClipTowerSpec.parse(f"open_clip:{same}@{tmp_path}/w.pt")
    assert spec.vision_config() == builtin["vision_cfg"]  # the same architecture: used

    changed = dict(builtin, vision_cfg=dict(builtin["vision_cfg"], layers=2))
    other = tmp_path / "other" / "ViT-L-14-336.json"
    other.parent.mkdir()
    other.write_text(json.dumps(changed), encoding="utf-8")
    with pytest.raises(VisionTowerSpecError, match=r"ViT-L-14-336.json is named 'ViT-L-14-336' like a built-in "
                                                   r"open_clip architecture, but its contents differ.*Rename"):
        OpenClipTowerSpec.parse(f"open_clip:{other}@{tmp_path}/w.pt").vision_config()
    assert open_clip.get_model_config("ViT-L-14-336") == builtin  # the built-in is untouched


def test_two_different_architecture_files_with_one_name_are_refused_naming_the_first(tmp_path):
    import json

    from socialfusion_plugin.demo.tiny_assets import tiny_tower_architecture

    first, second = tmp_path / "a" / "sf-collide-vit.json", tmp_path / "b" / "sf-collide-vit.json"
    for path, layers in ((first, 3), (second, 2)):
        path.parent.mkdir()
        path.write_text(json.dumps(tiny_tower_architecture(layers=layers)), encoding="utf-8")
    assert OpenClipTowerSpec.parse(f"open_clip:{first}@w.pt").vision_config()["layers"] == 3
    assert OpenClipTowerSpec.parse(f"open_clip:{first}@w.pt").vision_config()["layers"] == 3  # idempotent
    with pytest.raises(VisionTowerSpecError, match=rf"like the architecture {first}, registered first"):
        OpenClipTowerSpec.parse(f"open_clip:{second}@w.pt").vision_config()
