"""Probe encoders of Hugging Face towers from local folders: a SigLIP folder, and the tower inside
LLaVA-1.5-hf (sharded), LLaVA-OneVision-hf and PaliGemma checkpoints. Each gives exactly the
hidden states of the module its weights came from, with the checkpoint's preprocessing; the
language model's shards are never opened; every format problem is one error naming the folder."""
import json
import os
import re

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_hf_towers import (build_tiny_towers, save_safetensors, tower_state, write_json, write_llava_hf,
                            write_llava_onevision_hf, write_paligemma, write_siglip_folder, write_siglip_model_folder)

from socialfusion_plugin.analysis.encoders import (EncoderSpecError, describe_encoder, identify_encoder,
                                                   load_encoder)


@pytest.fixture(scope="module")
def towers():
    return build_tiny_towers(seed=0)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "im.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
    return Image.open(path).convert("RGB")


def reference(model, pixels):
    with torch.no_grad():
        return model(pixel_values=pixels, output_hidden_states=True).hidden_states


FORMATS = {  # name -> (writer, probe prefix, module attribute)
    "siglip_folder": (write_siglip_folder, "hf_siglip", "siglip"),
    "siglip_model_folder": (write_siglip_model_folder, "hf_siglip", "siglip"),
    "llava_1_5_hf_sharded": (write_llava_hf, "hf_vlm", "clip"),
    "llava_onevision_hf": (write_llava_onevision_hf, "hf_vlm", "siglip"),
    "llava_next_hf": (lambda folder, towers: write_llava_hf(folder, towers, model_type="llava_next",
                                                            architecture="LlavaNextForConditionalGeneration"),
                      "hf_vlm", "clip"),
    "paligemma": (write_paligemma, "hf_vlm", "siglip"),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_features_are_the_modules_own_hidden_states(name, towers, image, tmp_path):
    writer, prefix, attribute = FORMATS[name]
    folder = writer(tmp_path / name, towers)
    model = getattr(towers, attribute)
    encoder = load_encoder(f"{prefix}:{folder}")
    assert encoder.num_layers == 3
    pixels = encoder.preprocess([image])
    assert pixels.shape == (1, 3, 32, 32)
    expected = reference(model, pixels)
    tokens = encoder.extract(pixels, [0, 1, -2, -1])
    for layer, index in ((0, 0), (1, 1), (-2, 2), (-1, 3)):
        if attribute == "clip":
            assert torch.equal(tokens[layer], expected[index]), layer
        else:  # SigLIP: no class token; token 0 is the patch mean, then the patches as the module gives them
            assert torch.equal(tokens[layer][:, 1:], expected[index]), layer
            assert torch.allclose(tokens[layer][:, 0], expected[index].mean(dim=1)), layer
    assert encoder.class_token == (attribute == "clip")


def test_preprocessing_matches_the_processor_classes(towers, image, tmp_path):
    from transformers import CLIPImageProcessor, SiglipImageProcessor

    siglip = write_siglip_folder(tmp_path / "siglip", towers)
    ours = load_encoder(f"hf_siglip:{siglip}")
    assert ours.preprocessing.startswith("preprocessor_config.json (SiglipImageProcessor): resize to 32x32, bicubic")
    theirs = SiglipImageProcessor.from_pretrained(str(siglip), local_files_only=True)
    assert torch.equal(ours.preprocess([image]), theirs.preprocess([image], return_tensors="pt")["pixel_values"])

    llava = write_llava_hf(tmp_path / "llava", towers)
    ours = load_encoder(f"hf_clip:{llava}")
    assert "resize the shortest side to 32, center crop 32x32" in ours.preprocessing
    theirs = CLIPImageProcessor.from_pretrained(str(llava), local_files_only=True)
    assert torch.equal(ours.preprocess([image]), theirs.preprocess([image], return_tensors="pt")["pixel_values"])

    onevision = load_encoder(f"hf_vlm:{write_llava_onevision_hf(tmp_path / 'ov', towers)}")
    assert "LlavaOnevisionImageProcessor" in onevision.preprocessing and "one view at the base resolution" in onevision.preprocessing
    assert torch.equal(onevision.preprocess([image]), theirs.__class__(
        size={"height": 32, "width": 32}, do_center_crop=False, image_mean=[0.5] * 3, image_std=[0.5] * 3
    ).preprocess([image], return_tensors="pt")["pixel_values"])


def test_defaults_without_preprocessor_config_are_stated(towers, image, tmp_path):
    folder = write_paligemma(tmp_path / "pg", towers, with_processor=False)
    encoder = load_encoder(f"hf_vlm:{folder}")
    assert encoder.preprocessing == ("SigLIP default, no preprocessor_config.json: resize to 32x32, bicubic, "
                                     "mean (0.5, 0.5, 0.5) std (0.5, 0.5, 0.5)")
    description = describe_encoder(f"hf_vlm:{folder}")
    assert description.startswith("PaliGemma checkpoint (PaliGemmaForConditionalGeneration); SigLIP tower, 3 blocks, 32px")
    assert "image_size 32 from the position embeddings (not in config)" in description
    assert "no class token (pool with mean)" in description


def test_description_names_the_format_and_the_layer_the_vlm_reads(towers, tmp_path):
    onevision = write_llava_onevision_hf(tmp_path / "ov", towers)
    text = describe_encoder(f"hf_vlm:{onevision}")
    assert text.startswith("LLaVA-OneVision-hf checkpoint (LlavaOnevisionForConditionalGeneration); SigLIP tower")
    assert "the VLM reads layer -1 (vision_feature_layer)" in text
    llava = write_llava_hf(tmp_path / "llava", towers)
    assert "the VLM reads layer -2 (vision_feature_layer)" in describe_encoder(f"hf_clip:{llava}")


def test_only_the_towers_shards_are_read_and_fingerprinted(towers, image, tmp_path):
    folder = write_llava_hf(tmp_path / "llava", towers)
    llm_shard = folder / "model-00002-of-00002.safetensors"
    before = identify_encoder(f"hf_vlm:{folder}")
    llm_shard.write_bytes(b"not a safetensors file: the language model is never opened")
    assert identify_encoder(f"hf_vlm:{folder}") == before
    encoder = load_encoder(f"hf_vlm:{folder}")
    pixels = encoder.preprocess([image])
    assert torch.equal(encoder.extract(pixels, [-2])[-2], reference(towers.clip, pixels)[2])
    tower_shard = folder / "model-00001-of-00002.safetensors"
    state = tower_state(towers.clip, "vision_tower.")
    state["vision_tower.vision_model.post_layernorm.bias"] = state["vision_tower.vision_model.post_layernorm.bias"] + 1
    save_safetensors(state, tower_shard)
    assert identify_encoder(f"hf_vlm:{folder}").fingerprint != before.fingerprint
    assert identify_encoder(f"hf_vlm:{folder}").encoder_id == f"hf_vlm:{folder.resolve()}"


def test_newer_transformers_key_layout_is_read(towers, image, tmp_path):
    folder = write_llava_hf(tmp_path / "llava", towers, prefix="model.vision_tower.")
    encoder = load_encoder(f"hf_vlm:{folder}")
    pixels = encoder.preprocess([image])
    assert torch.equal(encoder.extract(pixels, [-1])[-1], reference(towers.clip, pixels)[3])


def _edit_config(folder, **changes):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path.write_text(json.dumps(config))
    return folder


ERRORS = [
    ("no config.json", lambda f: os.remove(f / "config.json"), "hf_vlm", "config.json not found"),
    ("unknown model type", lambda f: _edit_config(f, model_type="blip", vision_config=None, architectures=None),
     "hf_vlm", "model_type 'blip' is neither a vision tower"),
    ("original LLaVA format", lambda f: _edit_config(f, model_type="llava_llama", vision_config=None,
                                                     mm_vision_tower="open_clip:ViT-L-14-336@openai"),
     "hf_vlm", "original-format LLaVA checkpoint; its vision tower 'open_clip:ViT-L-14-336@openai' is not stored"),
    ("architecture of another model", lambda f: _edit_config(f, architectures=["LlavaLlamaForCausalLM"]),
     "hf_vlm", "a LLaVA-OneVision-hf checkpoint has ['LlavaOnevisionForConditionalGeneration']"),
    ("unknown tower family", lambda f: _edit_config(f, vision_config={"model_type": "dinov2"}),
     "hf_vlm", "vision_config model_type 'dinov2' is not a known vision tower"),
    ("CLIP kind on a SigLIP tower", lambda f: None, "hf_clip", "holds a SigLIP vision tower"),
    ("more blocks in config", lambda f: _edit_config(f, vision_config={**json.loads(
        (f / "config.json").read_text())["vision_config"], "num_hidden_layers": 5}),
     "hf_vlm", "config.json's tower has 5 blocks, the weights under vision_tower.vision_model. hold blocks 0-2 (missing: 3-4)"),
    ("image size that does not fit", lambda f: _edit_config(f, vision_config={**json.loads(
        (f / "config.json").read_text())["vision_config"], "image_size": 64}),
     "hf_vlm", "vision image_size 64 with patch_size 8, but the weights hold 16 position embeddings (image_size 32)"),
    ("no tower weights", lambda f: save_safetensors({"language_model.lm_head.weight": torch.zeros(2, 2)},
                                                     f / "model.safetensors"),
     "hf_vlm", "no vision tower weights in the checkpoint (no key ending in vision_model.embeddings.patch_embedding.weight)"),
    ("tower under an unknown prefix", lambda f: save_safetensors(
        {k.replace("vision_tower.", "visual."): v for k, v in __import__("safetensors.torch", fromlist=["load_file"])
         .load_file(str(f / "model.safetensors")).items()}, f / "model.safetensors"),
     "hf_vlm", "vision tower weights under 'visual.', where a LLaVA-OneVision-hf checkpoint"),
]


@pytest.mark.parametrize("case, change, prefix, fragment", ERRORS, ids=[e[0] for e in ERRORS])
def test_format_problems_are_one_error_naming_the_folder(case, change, prefix, fragment, towers, tmp_path):
    folder = write_llava_onevision_hf(tmp_path / "ov", towers)
    change(folder)
    with pytest.raises(EncoderSpecError) as raised:
        identify_encoder(f"{prefix}:{folder}")
    message = str(raised.value)
    assert fragment in message and str(folder) in message and "\n" not in message


def test_standalone_tower_is_not_a_vlm_and_missing_tensors_are_named(towers, tmp_path):
    folder = write_siglip_folder(tmp_path / "siglip", towers)
    with pytest.raises(EncoderSpecError, match="is a SigLIP tower on its own, not a VLM checkpoint: use hf_siglip:"):
        identify_encoder(f"hf_vlm:{folder}")
    onevision = write_llava_onevision_hf(tmp_path / "ov", towers)
    state = tower_state(towers.siglip, "vision_tower.", drop=("head",))
    del state["vision_tower.vision_model.encoder.layers.1.mlp.fc2.bias"]
    save_safetensors(state, onevision / "model.safetensors")
    with pytest.raises(EncoderSpecError, match=r"1 tower weight\(s\) not found in the checkpoint, e.g. "
                                               r"\['vision_model.encoder.layers.1.mlp.fc2.bias'\]"):
        load_encoder(f"hf_vlm:{onevision}")


def test_a_missing_shard_that_holds_the_tower_is_named(towers, tmp_path):
    folder = write_llava_hf(tmp_path / "llava", towers)
    os.remove(folder / "model-00001-of-00002.safetensors")
    with pytest.raises(EncoderSpecError, match="model-00001-of-00002.safetensors not found: .*index.json lists the "
                                               "vision tower's weights in it"):
        identify_encoder(f"hf_vlm:{folder}")


def test_a_bin_tower_folder_is_read_without_running_its_pickle(towers, image, tmp_path):
    folder = tmp_path / "clip-bin"
    towers.clip.save_pretrained(folder, safe_serialization=False)
    assert (folder / "pytorch_model.bin").is_file() and not (folder / "model.safetensors").exists()
    encoder = load_encoder(f"hf_clip:{folder}")
    assert "CLIP default, no preprocessor_config.json" in encoder.preprocessing
    pixels = encoder.preprocess([image])
    assert torch.equal(encoder.extract(pixels, [-2])[-2], reference(towers.clip, pixels)[2])
    write_json(folder / "config.json", {**json.loads((folder / "config.json").read_text()), "num_hidden_layers": 2})
    with pytest.raises(EncoderSpecError, match="that config.json's tower does not have"):
        load_encoder(f"hf_clip:{folder}")


@pytest.fixture(scope="module")
def probe_root(tmp_path_factory):
    """gesture and gaze releases converted into the --data-root layout."""
    from socialfusion_plugin import registry
    from socialfusion_plugin.data_layout import DataLayout
    from socialfusion_plugin.demo.releases import gazefollow, hagrid
    from socialfusion_plugin.tasks.conversion import convert

    base = tmp_path_factory.mktemp("probe-hf")
    layout = DataLayout(base / "data")
    roots = {"gesture": hagrid.standard_release(layout.release("gesture")),
             "gaze": gazefollow.build_release(layout.release("gaze"))}
    for task, dataset_root in roots.items():
        for split in ("train", "test"):
            convert(registry.TASKS.get(task), root=dataset_root, split=split, out=layout.converted(task, split),
                    progress=False)
    return layout.root


def test_probe_cli_compares_a_clip_and_a_siglip_vlm_tower(towers, probe_root, tmp_path, capsys):
    from socialfusion_plugin.cli.main import main

    llava = write_llava_hf(tmp_path / "llava-1.5-hf", towers)
    onevision = write_llava_onevision_hf(tmp_path / "llava-onevision-hf", towers)
    argv = ["probe", "--encoders", f"hf_vlm:{llava}", f"hf_vlm:{onevision}", "--tasks", "gesture", "gaze",
            "--data-root", str(probe_root), "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"),
            "--layers", "-1", "-2", "--region", "full", "region", "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"encoder hf_vlm:{llava}: LLaVA-1.5-hf checkpoint (LlavaForConditionalGeneration); CLIP tower, 3 blocks" in out
    assert f"encoder hf_vlm:{onevision}: LLaVA-OneVision-hf checkpoint" in out
    result = json.loads((tmp_path / "out" / "probe_results.json").read_text())
    assert len(result["results"]) == 2 * 2 * 2 * 2  # encoders x tasks x layers x regions
    assert {row["encoder_id"] for row in result["results"]} == {f"hf_vlm:{llava.resolve()}",
                                                                f"hf_vlm:{onevision.resolve()}"}
    for row in result["results"]:
        assert row["n_test"] == row["score"]["n"] > 0 and row["score"]["unparsed"] == 0
        assert isinstance(row["value"], float)
    table = (tmp_path / "out" / "probe_results.md").read_text()
    assert "hf_vlm:llava-onevision-hf" in table and "hf_vlm:llava-1.5-hf" in table
    assert re.search(r"feature cache: 0 hit\(s\), 32 extracted", out)  # 2 encoders x 2 regions x 2 tasks x 2 splits x 2 layers
    by_encoder = {}
    for sidecar in (tmp_path / "cache").rglob("*.json"):
        meta = json.loads(sidecar.read_text())
        features = np.load(sidecar.with_suffix(".npy"))
        by_encoder.setdefault(meta["encoder"], []).append(features)
        assert features.shape[1] == 32 and np.isfinite(features).all()  # tower width, mean pooling
    clip_features, siglip_features = by_encoder.values()
    assert len(clip_features) == len(siglip_features) == 16
    assert not any(np.array_equal(a, b) for a in clip_features for b in siglip_features)

    assert main(argv) == 0  # same inputs: every feature from the cache, no tower built
    assert ", 0 extracted, 0 image(s) encoded" in capsys.readouterr().out
    again = json.loads((tmp_path / "out" / "probe_results.json").read_text())
    assert [r["value"] for r in again["results"]] == [r["value"] for r in result["results"]]
