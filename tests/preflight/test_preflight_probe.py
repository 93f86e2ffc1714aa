"""`socialfusion probe` checks every encoder's weights, every task's files and images and its output
folders before any encoder is built or any feature extracted."""
import os

import pytest
import torch
from preflight_helpers import ModelLoadReached, llava_records, placeholder, run_cli, write_json
from tiny_hf_towers import build_tiny_towers, write_llava_hf, write_llava_onevision_hf, write_siglip_folder


@pytest.fixture(scope="module")
def towers():
    """Built before any test's model-load sentinels are set (module scope comes first)."""
    return build_tiny_towers(seed=0)


def probe_argv(layout, encoders=None, extra=()):
    return ["probe", "--encoders", *(encoders or [layout.tower]), "--tasks", "gesture", "--data-root",
            layout.probe_root, "--out", layout.out, "--cache-dir", layout.root / "cache", "--no-progress", *extra]


def hf_clip_folder(layout):
    """A CLIP tower folder in the layout CLIPVisionModel.save_pretrained writes (written from saved tensors)."""
    from tiny_hf_towers import CLIP_VISION, save_safetensors

    folder = layout.root / "models" / "clip-vit"
    write_json(folder / "config.json", {"model_type": "clip_vision_model", **CLIP_VISION})
    width, patch, positions = CLIP_VISION["hidden_size"], CLIP_VISION["patch_size"], 1 + (32 // 8) ** 2
    state = {"vision_model.embeddings.patch_embedding.weight": torch.zeros(width, 3, patch, patch),
             "vision_model.embeddings.position_embedding.weight": torch.zeros(positions, width)}
    state.update({f"vision_model.encoder.layers.{i}.layer_norm1.weight": torch.zeros(width)
                  for i in range(CLIP_VISION["num_hidden_layers"])})
    save_safetensors(state, folder / "model.safetensors")
    return folder


CASES = [
    ("open_clip weights missing", lambda l: (os.remove(l.tower_weights), {})[1],
     ["--encoders open_clip:", "vision tower weights", "not found"]),
    ("hf_clip folder missing", lambda l: {"encoders": [f"hf_clip:{l.root / 'gone'}"]},
     ["--encoders hf_clip:", "gone not found"]),
    ("hf_clip weights missing", lambda l: (os.remove(hf_clip_folder(l) / "model.safetensors"),
                                           {"encoders": [f"hf_clip:{l.root / 'models' / 'clip-vit'}"]})[1],
     ["--encoders hf_clip:", "no weights in"]),
    ("hf_clip folder not a tower", lambda l: (write_json(hf_clip_folder(l) / "config.json", {"model_type": "bert"}),
                                              {"encoders": [f"hf_clip:{l.root / 'models' / 'clip-vit'}"]})[1],
     ["--encoders hf_clip:", "model_type 'bert' is neither a vision tower"]),
    ("unknown encoder kind", lambda l: {"encoders": ["timm:vit"]},
     ["--encoders timm:vit: encoder 'timm:vit': expected one of"]),
    ("test split missing", lambda l: (os.remove(l.probe_root / "converted" / "gesture_test.json"), {})[1],
     ["--data-root (gesture test)", "gesture_test.json not found"]),
    ("override file missing", lambda l: {"extra": ["--train", f"gesture={l.root / 'nope.json'}"]},
     ["--train gesture: {root}/nope.json not found"]),
    ("image folder missing", lambda l: {"extra": ["--image-folder", f"gesture={l.root / 'gone'}"]},
     ["--image-folder gesture: ", "gone not found"]),
    ("an image missing", lambda l: (os.remove(l.probe_root / "gesture" / "img_004.png"), {})[1],
     ["--data-root (gesture image folder)", "1 of 21 sampled images of --data-root (gesture train)",
      "img_004.png (record r004)"]),
    ("output under a file", lambda l: {"extra": ["--out", str(placeholder(l.root / "f") / "out")]},
     ["--out", "cannot be created"]),
]


@pytest.mark.parametrize("case, change, fragments", CASES, ids=[case[0] for case in CASES])
def test_a_missing_path_fails_before_any_encoder_is_built(layout, no_model_loads, capsys, case, change, fragments):
    changes = change(layout)
    status, err = run_cli(probe_argv(layout, changes.get("encoders"), changes.get("extra", ())), capsys)
    assert status == 2, err
    assert err.startswith("socialfusion probe: error: ")
    for fragment in fragments:
        assert fragment.replace("{root}", str(layout.root)) in err, err
    assert no_model_loads == []


def test_every_encoder_and_task_problem_in_one_report(layout, no_model_loads, capsys):
    os.remove(layout.tower_weights)
    os.remove(layout.probe_root / "converted" / "gesture_train.json")
    status, err = run_cli(probe_argv(layout, [layout.tower, f"hf_clip:{layout.root / 'gone'}"]), capsys)
    assert status == 2
    assert "3 problems found before loading any model" in err
    assert no_model_loads == []


def test_a_complete_layout_passes_and_reaches_the_probe(layout, no_model_loads, capsys):
    # records of other tasks and records without a probe target are not read by the probe
    records = llava_records(3, meta={"task": "gesture", "label": "like"}) + llava_records(
        2, image=lambda i: f"gone/{i}.png", meta={"task": "relation", "label": "friends"}, prefix="o")
    write_json(layout.probe_root / "converted" / "gesture_train.json", records)
    with pytest.raises(ModelLoadReached):
        run_cli(probe_argv(layout, [layout.tower, f"hf_clip:{hf_clip_folder(layout)}"]), capsys)
    assert no_model_loads == ["socialfusion_plugin.analysis.probe_run.run_probe"]


def test_vlm_and_siglip_towers_are_checked_before_loading(layout, towers, no_model_loads, capsys, tmp_path):
    llava = write_llava_hf(tmp_path / "llava", towers)
    os.remove(llava / "model-00001-of-00002.safetensors")  # the shard that holds the tower
    onevision = write_llava_onevision_hf(tmp_path / "ov", towers)
    siglip = write_siglip_folder(tmp_path / "siglip", towers)
    cut = siglip / "model.safetensors"
    cut.write_bytes(cut.read_bytes()[:-10])
    no_config = tmp_path / "empty"
    no_config.mkdir()
    encoders = [f"hf_vlm:{llava}", f"hf_clip:{onevision}", f"hf_siglip:{siglip}", f"hf_vlm:{no_config}"]
    status, err = run_cli(probe_argv(layout, encoders), capsys)
    assert status == 2 and "4 problems found before loading any model" in err, err
    lines = err.splitlines()[1:]
    assert lines[0].startswith(f"  --encoders hf_vlm:{llava}: {llava}/model-00001-of-00002.safetensors not found")
    assert lines[1] == (f"  --encoders hf_clip:{onevision}: {onevision}: holds a SigLIP vision tower (LLaVA-OneVision-hf "
                        f"checkpoint (LlavaOnevisionForConditionalGeneration)), not CLIP: use hf_siglip:{onevision}")
    assert lines[2].startswith(f"  --encoders hf_siglip:{siglip}: {cut} is truncated")
    assert lines[3] == f"  --encoders hf_vlm:{no_config}: {no_config}/config.json not found (expected a local Hugging Face model folder)"
    assert no_model_loads == []


def test_cls_pooling_on_a_tower_without_class_token_is_refused(layout, towers, no_model_loads, capsys, tmp_path):
    onevision = write_llava_onevision_hf(tmp_path / "ov", towers)
    status, err = run_cli(probe_argv(layout, [f"hf_vlm:{onevision}"], ["--pooling", "mean", "cls_mean"]), capsys)
    assert status == 2
    assert ("a SigLIP tower has no class token, so --pooling cls_mean has nothing to read: probe it with --pooling "
            "mean") in err
    assert no_model_loads == []


def test_complete_vlm_towers_pass_and_reach_the_probe(layout, towers, no_model_loads, capsys, tmp_path):
    encoders = [f"hf_vlm:{write_llava_hf(tmp_path / 'llava', towers)}",
                f"hf_siglip:{write_llava_onevision_hf(tmp_path / 'ov', towers)}"]
    with pytest.raises(ModelLoadReached):
        run_cli(probe_argv(layout, encoders), capsys)
    assert no_model_loads == ["socialfusion_plugin.analysis.probe_run.run_probe"]
    out = capsys.readouterr().out
    assert f"encoder hf_siglip:{tmp_path / 'ov'}: LLaVA-OneVision-hf checkpoint" in out
