"""`socialfusion probe` checks every encoder's weights, every task's files and images and its output
folders before any encoder is built or any feature extracted."""
import os

import pytest
from preflight_helpers import ModelLoadReached, llava_records, placeholder, run_cli, write_json


def probe_argv(layout, encoders=None, extra=()):
    return ["probe", "--encoders", *(encoders or [layout.tower]), "--tasks", "gesture", "--data-root",
            layout.probe_root, "--out", layout.out, "--cache-dir", layout.root / "cache", "--no-progress", *extra]


def hf_clip_folder(layout):
    folder = layout.root / "models" / "clip-vit"
    write_json(folder / "config.json", {"model_type": "clip_vision_model"})
    placeholder(folder / "model.safetensors")
    return folder


CASES = [
    ("open_clip weights missing", lambda l: (os.remove(l.tower_weights), {})[1],
     ["--encoders open_clip:", "vision tower weights", "not found"]),
    ("hf_clip folder missing", lambda l: {"encoders": [f"hf_clip:{l.root / 'gone'}"]},
     ["--encoders hf_clip:", "gone not found"]),
    ("hf_clip weights missing", lambda l: (os.remove(hf_clip_folder(l) / "model.safetensors"),
                                           {"encoders": [f"hf_clip:{l.root / 'models' / 'clip-vit'}"]})[1],
     ["--encoders hf_clip:", "no weights in"]),
    ("unknown encoder kind", lambda l: {"encoders": ["timm:vit"]},
     ["--encoders timm:vit: encoder 'timm:vit': expected one of"]),
    ("test split missing", lambda l: (os.remove(l.probe_root / "gesture_test.json"), {})[1],
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
    os.remove(layout.probe_root / "gesture_train.json")
    status, err = run_cli(probe_argv(layout, [layout.tower, f"hf_clip:{layout.root / 'gone'}"]), capsys)
    assert status == 2
    assert "3 problems found before loading any model" in err
    assert no_model_loads == []


def test_a_complete_layout_passes_and_reaches_the_probe(layout, no_model_loads, capsys):
    # records of other tasks and records without a probe target are not read by the probe
    records = llava_records(3, meta={"task": "gesture", "label": "like"}) + llava_records(
        2, image=lambda i: f"gone/{i}.png", meta={"task": "relation", "label": "friends"}, prefix="o")
    write_json(layout.probe_root / "gesture_train.json", records)
    with pytest.raises(ModelLoadReached):
        run_cli(probe_argv(layout, [layout.tower, f"hf_clip:{hf_clip_folder(layout)}"]), capsys)
    assert no_model_loads == ["socialfusion_plugin.analysis.probe_run.run_probe"]
