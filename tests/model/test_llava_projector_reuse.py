"""Reusing LLaVA-1.5's released stage-1 projector with the plugin's tower is exact.

LLaVA-1.5 feeds its projector the second-to-last hidden state (patch tokens) of Hugging Face's
CLIPVisionModel (`openai/clip-vit-large-patch14-336`), on pixels padded to a square with the mean color
(`image_aspect_ratio pad`) and preprocessed by that model's CLIPImageProcessor. The plugin's default tower,
`open_clip:ViT-L-14-336@openai`, holds the same weights. Here, with small random weights converted both
ways between open_clip and Hugging Face's layout:
- LLaVA's own CLIPVisionTower and the plugin's tower give the same layer -2 features;
- LLaVA's pad + CLIPImageProcessor and the plugin's image processor give the same pixels;
- a projector file in LLaVA's released layout (`model.mm_projector.0/2.*`, LLaVA-1's `model.mm_projector.*`)
  loads through LLaVA's own `initialize_vision_modules` into every connector type it fits, and the
  whole chain (pixels -> tower -> projector) gives the same visual tokens as LLaVA's.
OpenAI's weights were trained with QuickGELU, which open_clip records on the `openai` tag, not on the
ViT-L-14-336 architecture; the tower must build it from the tag or the features differ (checked too).
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from socialfusion_plugin.model.open_clip_tower import OpenClipVisionTower, weights_need_quick_gelu
from socialfusion_plugin.model.tower_spec import OpenClipTowerSpec

WIDTH, LAYERS, HEAD_WIDTH, IMAGE, PATCH = 64, 3, 32, 32, 8
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
# openai/clip-vit-large-patch14-336's preprocessor_config.json, which LLaVA's tower loads
LLAVA_PREPROCESSOR = {"crop_size": 336, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                      "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": OPENAI_MEAN,
                      "image_std": OPENAI_STD, "resample": 3, "size": 336}


def architecture(path: Path, quick_gelu: bool) -> Path:
    """A tiny open_clip CLIP JSON (ViT 32 px, patch 8, 3 blocks); the file stem is its open_clip name."""
    config = {"embed_dim": 32, "vision_cfg": {"image_size": IMAGE, "layers": LAYERS, "width": WIDTH,
                                              "patch_size": PATCH, "head_width": HEAD_WIDTH},
              "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1}}
    if quick_gelu:
        config["quick_gelu"] = True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def hf_config():
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(hidden_size=WIDTH, intermediate_size=4 * WIDTH, num_hidden_layers=LAYERS,
                            num_attention_heads=WIDTH // HEAD_WIDTH, image_size=IMAGE, patch_size=PATCH,
                            hidden_act="quick_gelu", layer_norm_eps=1e-5)


def open_clip_to_hf(visual: dict) -> dict:
    """open_clip's VisionTransformer state dict -> CLIPVisionModel's (what HF's conversion script does)."""
    hf = {"vision_model.embeddings.patch_embedding.weight": visual["conv1.weight"],
          "vision_model.embeddings.class_embedding": visual["class_embedding"],
          "vision_model.embeddings.position_embedding.weight": visual["positional_embedding"]}
    for ours, theirs in (("ln_pre", "pre_layrnorm"), ("ln_post", "post_layernorm")):
        for kind in ("weight", "bias"):
            hf[f"vision_model.{theirs}.{kind}"] = visual[f"{ours}.{kind}"]
    for i in range(LAYERS):
        src, dst = f"transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}."
        for kind in ("weight", "bias"):
            q, k, v = visual[f"{src}attn.in_proj_{kind}"].chunk(3)
            hf.update({f"{dst}self_attn.q_proj.{kind}": q, f"{dst}self_attn.k_proj.{kind}": k,
                       f"{dst}self_attn.v_proj.{kind}": v})
            for ours, theirs in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"),
                                 ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
                hf[f"{dst}{theirs}.{kind}"] = visual[f"{src}{ours}.{kind}"]
    return {key: value.clone() for key, value in hf.items()}


def hf_to_open_clip(hf: dict, proj: torch.Tensor) -> dict:
    """The inverse; `proj` (CLIP's image projection, unused by LLaVA's features) comes from elsewhere."""
    visual = {"conv1.weight": hf["vision_model.embeddings.patch_embedding.weight"],
              "class_embedding": hf["vision_model.embeddings.class_embedding"],
              "positional_embedding": hf["vision_model.embeddings.position_embedding.weight"], "proj": proj}
    for ours, theirs in (("ln_pre", "pre_layrnorm"), ("ln_post", "post_layernorm")):
        for kind in ("weight", "bias"):
            visual[f"{ours}.{kind}"] = hf[f"vision_model.{theirs}.{kind}"]
    for i in range(LAYERS):
        src, dst = f"vision_model.encoder.layers.{i}.", f"transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            visual[f"{dst}attn.in_proj_{kind}"] = torch.cat(
                [hf[f"{src}self_attn.{name}_proj.{kind}"] for name in ("q", "k", "v")])
            for ours, theirs in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"),
                                 ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
                visual[f"{dst}{ours}.{kind}"] = hf[f"{src}{theirs}.{kind}"]
    return {key: value.clone() for key, value in visual.items()}


def random_open_clip_visual(arch_file: Path, seed: int) -> dict:
    import open_clip

    from socialfusion_plugin.model.open_clip_tower import quiet_random_init_warning

    OpenClipTowerSpec.parse(f"open_clip:{arch_file}@x.pt").register_architecture()
    torch.manual_seed(seed)
    with quiet_random_init_warning():
        visual = open_clip.create_model(arch_file.stem, pretrained=None).visual
    with torch.no_grad():  # open_clip starts some weights at exactly 0/1: make every tensor count
        for param in visual.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    return {key: value.detach().clone() for key, value in visual.state_dict().items()}


def llava_tower_folder(folder: Path, hf_state: dict) -> Path:
    """A folder in the layout LLaVA's CLIPVisionTower loads (from_pretrained), processor at 32 px."""
    from transformers import CLIPVisionModel

    model = CLIPVisionModel(hf_config())
    missing, unexpected = model.load_state_dict(hf_state, strict=False)
    assert not unexpected and all(key.endswith("position_ids") for key in missing), (missing, unexpected)
    model.save_pretrained(folder)
    preprocessor = dict(LLAVA_PREPROCESSOR, crop_size=IMAGE, size=IMAGE)
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor), encoding="utf-8")
    return folder


def llava_tower(folder: Path):
    from llava.model.multimodal_encoder.clip_encoder import CLIPVisionTower

    return CLIPVisionTower(str(folder), SimpleNamespace(mm_vision_select_layer=-2, mm_vision_select_feature="patch"))


def plugin_tower(vision_tower: str) -> OpenClipVisionTower:
    return OpenClipVisionTower(vision_tower, SimpleNamespace(mm_vision_select_layer=-2,
                                                             mm_vision_select_feature="patch"))


def photos():
    """Non-square images (both orientations), so LLaVA's pad-to-square changes them."""
    generator = torch.Generator().manual_seed(3)
    images = []
    for width, height in ((57, 31), (24, 49), (40, 40)):
        pixels = torch.randint(0, 256, (height, width, 3), generator=generator, dtype=torch.uint8)
        images.append(Image.fromarray(pixels.numpy()))
    return images


def llava_pad_pixels(images, processor) -> torch.Tensor:
    """LLaVA's `image_aspect_ratio pad`: mean-color square, then the processor (as its training data does)."""
    from llava.mm_utils import process_images

    return process_images(images, processor, SimpleNamespace(image_aspect_ratio="pad"))


def assert_same_chain(ours: OpenClipVisionTower, theirs, images):
    pixels = llava_pad_pixels(images, theirs.image_processor)
    assert torch.equal(llava_pad_pixels(images, ours.image_processor), pixels)  # same preprocessing, bit for bit
    features = ours(pixels)
    assert features.shape == (len(images), (IMAGE // PATCH) ** 2, WIDTH)
    torch.testing.assert_close(features, theirs(pixels), rtol=1e-5, atol=1e-5)
    return pixels, features


def test_open_clip_weights_converted_to_llavas_hf_tower_give_the_same_features(tmp_path):
    arch_file = architecture(tmp_path / "sf-reuse-quickgelu.json", quick_gelu=True)
    visual = random_open_clip_visual(arch_file, seed=1)
    torch.save(visual, tmp_path / "visual.pt")
    ours = plugin_tower(f"open_clip:{arch_file}@{tmp_path / 'visual.pt'}")
    theirs = llava_tower(llava_tower_folder(tmp_path / "hf", open_clip_to_hf(visual)))
    assert_same_chain(ours, theirs, photos())


def test_hf_weights_converted_to_open_clip_give_the_same_features(tmp_path):
    from transformers import CLIPVisionModel

    arch_file = architecture(tmp_path / "sf-reuse-quickgelu-b.json", quick_gelu=True)
    torch.manual_seed(2)
    hf_state = {k: v.clone() for k, v in CLIPVisionModel(hf_config()).state_dict().items()
                if not k.endswith("position_ids")}
    proj = torch.randn(WIDTH, 32)
    torch.save(hf_to_open_clip(hf_state, proj), tmp_path / "visual.pt")
    ours = plugin_tower(f"open_clip:{arch_file}@{tmp_path / 'visual.pt'}")
    theirs = llava_tower(llava_tower_folder(tmp_path / "hf", hf_state))
    assert_same_chain(ours, theirs, photos())


def test_a_tag_trained_with_quick_gelu_builds_it_like_vit_l_14_336_openai(tmp_path, monkeypatch):
    # ViT-L-14-336 is a GELU architecture in open_clip; its `openai` tag says quick_gelu. A tiny architecture
    # registered the same way must give LLaVA's (QuickGELU) features through the tag, and other ones
    # through a file on the GELU architecture: the activation is what the test can see.
    import open_clip
    from open_clip import pretrained

    assert weights_need_quick_gelu(OpenClipTowerSpec.parse("open_clip:ViT-L-14-336@openai"))
    assert not open_clip.get_model_config("ViT-L-14-336").get("quick_gelu")
    assert not weights_need_quick_gelu(OpenClipTowerSpec.parse("open_clip:ViT-L-14-336@/w/openai.safetensors"))

    arch_file = architecture(tmp_path / "sf-reuse-gelu-arch.json", quick_gelu=False)
    visual = random_open_clip_visual(arch_file, seed=4)
    torch.save(visual, tmp_path / "visual.pt")
    tag = dict(open_clip.get_pretrained_cfg("ViT-L-14-336", "openai"), url="", hf_hub="",
               file=str(tmp_path / "visual.pt"))
    monkeypatch.setitem(pretrained._PRETRAINED, arch_file.stem, {"openai": tag})
    by_tag = plugin_tower(f"open_clip:{arch_file}@openai")
    theirs = llava_tower(llava_tower_folder(tmp_path / "hf", open_clip_to_hf(visual)))
    pixels, _ = assert_same_chain(by_tag, theirs, photos())

    gelu = plugin_tower(f"open_clip:{arch_file}@{tmp_path / 'visual.pt'}")  # same weights, GELU
    assert (gelu(pixels) - theirs(pixels)).abs().max() > 1e-3


def test_the_default_towers_preprocessing_is_llavas_at_336_pixels(tmp_path):
    # the processor the plugin builds for open_clip:ViT-L-14-336@openai (settings read from open_clip,
    # no weights needed) against CLIPImageProcessor.from_pretrained on LLaVA's tower's preprocessor_config
    import open_clip
    from transformers import CLIPImageProcessor

    from socialfusion_plugin.model.open_clip_tower import build_image_processor

    assert open_clip.get_model_config("ViT-L-14-336")["vision_cfg"]["image_size"] == 336
    tag = open_clip.get_pretrained_cfg("ViT-L-14-336", "openai")
    ours = build_image_processor({"size": 336, **{key: tag[key] for key in ("mean", "std", "interpolation",
                                                                            "resize_mode")}})
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(LLAVA_PREPROCESSOR), encoding="utf-8")
    theirs = CLIPImageProcessor.from_pretrained(str(tmp_path))
    generator = torch.Generator().manual_seed(5)
    images = [Image.fromarray(torch.randint(0, 256, (h, w, 3), generator=generator, dtype=torch.uint8).numpy())
              for w, h in ((500, 333), (240, 480))]
    pixels = llava_pad_pixels(images, theirs)
    assert pixels.shape == (2, 3, 336, 336)
    assert torch.equal(llava_pad_pixels(images, ours), pixels)


# Which released projector layouts each connector takes. A new connector must be entered here.
MLP2X = {"model.mm_projector.0.weight": (64, 64), "model.mm_projector.0.bias": (64,),
         "model.mm_projector.2.weight": (64, 64), "model.mm_projector.2.bias": (64,)}  # LLaVA-1.5
LINEAR = {"model.mm_projector.weight": (64, 64), "model.mm_projector.bias": (64,)}  # LLaVA-1
FITS = {"linear": LINEAR, "mlp2x_gelu": MLP2X, "avgpool2x2_mlp2x_gelu": MLP2X}


@pytest.fixture(scope="module")
def reuse_tower(tmp_path_factory):
    """The plugin's tower and LLaVA's HF tower on the same converted weights (tower width 64 = the tiny LLM's)."""
    root = tmp_path_factory.mktemp("reuse-tower")
    arch_file = architecture(root / "sf-reuse-quickgelu-c.json", quick_gelu=True)
    visual = random_open_clip_visual(arch_file, seed=6)
    torch.save(visual, root / "visual.pt")
    return f"open_clip:{arch_file}@{root / 'visual.pt'}", llava_tower_folder(root / "hf", open_clip_to_hf(visual))


def released_projector(layout: dict, path: Path, seed: int = 7) -> dict:
    generator = torch.Generator().manual_seed(seed)
    tensors = {key: torch.randn(shape, generator=generator) * 0.1 for key, shape in layout.items()}
    torch.save(tensors, path)  # as LLaVA's stage 1 saves it: a torch pickle of a flat dict
    return tensors


def load_through_llava(llm_dir, vision_tower: str, connector: str, adapter: Path):
    """LLaVA's own initialize_vision_modules with --pretrain_mm_mlp_adapter (get_w + load_state_dict)."""
    from socialfusion_plugin.host.llava.diagnostics.model_factory import ModelSpec, build_model

    model = build_model(ModelSpec(str(llm_dir), vision_tower, mm_projector_type=connector, lora=False)).model
    args = SimpleNamespace(vision_tower=vision_tower, mm_vision_select_layer=-2, mm_vision_select_feature="patch",
                           mm_patch_merge_type="flat", mm_projector_type=connector,
                           pretrain_mm_mlp_adapter=str(adapter))
    model.get_model().initialize_vision_modules(args)
    return model.get_model()


@pytest.mark.parametrize("connector", sorted(FITS))
def test_a_released_projector_loads_into_every_connector_it_fits(connector, tiny_assets, reuse_tower, tmp_path):
    from socialfusion_plugin import list_connectors

    assert set(FITS) == set(list_connectors()), "classify every registered connector in FITS"
    vision_tower, hf_folder = reuse_tower
    for name, layout in (("llava-1.5", MLP2X), ("llava-1", LINEAR)):
        adapter = tmp_path / name / "mm_projector.bin"
        adapter.parent.mkdir()
        saved = released_projector(layout, adapter)
        if layout is not FITS[connector]:
            with pytest.raises(RuntimeError, match="mm_projector|Missing key|Unexpected key"):
                load_through_llava(tiny_assets.llm_dir, vision_tower, connector, adapter)
            continue
        model = load_through_llava(tiny_assets.llm_dir, vision_tower, connector, adapter)
        loaded = {name: p.detach() for name, p in model.mm_projector.state_dict().items()}
        assert len(loaded) == len(saved)
        for key, value in saved.items():  # every released tensor, unchanged, at its place
            suffix = key[len("model.mm_projector."):]
            target = loaded.get(suffix, loaded.get("mlp." + suffix))
            assert target is not None and torch.equal(target, value), key

        # the chain: LLaVA's tower + LLaVA's own projector builder with the same file vs the plugin's
        if connector == "avgpool2x2_mlp2x_gelu":
            continue  # pools the patch grid first: a start for it, not LLaVA-1.5's computation
        from llava.model.multimodal_projector.builder import build_vision_projector

        stock = build_vision_projector(SimpleNamespace(mm_projector_type=connector, mm_hidden_size=WIDTH,
                                                       hidden_size=64))
        stock.load_state_dict({key[len("model.mm_projector."):]: value for key, value in saved.items()})
        theirs = llava_tower(hf_folder)
        pixels = llava_pad_pixels(photos(), theirs.image_processor)
        with torch.no_grad():
            expected = stock(theirs(pixels))
            ours = model.mm_projector(model.get_vision_tower()(
                llava_pad_pixels(photos(), model.get_vision_tower().image_processor)))
        torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)
