"""Decodability: a probe reads a label an encoder carries (near-perfect scores) and not one it
lacks (chance), through the task's own metrics, both from injected features and real towers."""
import json

import numpy as np
import pytest
import torch

from socialfusion_plugin import registry
from socialfusion_plugin.analysis.linear_probes import ProbeError, ProbeSettings, probe_and_score
from socialfusion_plugin.analysis.probe_run import ProbeConfig, run_probe

GESTURES = ["like", "dislike", "peace", "ok"]
COLOR_TO_GESTURE = {"red": "like", "green": "dislike", "blue": "peace", "yellow": "ok"}


def _features(labels_index, informative, seed, dim=16):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(labels_index), dim))
    if informative:
        x[np.arange(len(labels_index)), labels_index] += 4.0  # one strong direction per class
    return x


def _gesture_records(labels, prefix):
    return [{"id": f"{prefix}{i}", "meta": {"task": "gesture", "label": label, "hand_boxes": [[0.1, 0.1, 0.5, 0.5]]}}
            for i, label in enumerate(labels)]


@pytest.mark.parametrize("informative,low,high", [(True, 0.95, 1.0), (False, 0.0, 0.45)])
def test_single_label_probe_scores_near_perfect_or_chance(informative, low, high):
    task = registry.TASKS.get("gesture")
    rng = np.random.default_rng(0)
    train_idx, test_idx = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    train_targets = [("single", GESTURES[i]) for i in train_idx]
    test_records = _gesture_records([GESTURES[i] for i in test_idx], "t")
    score = probe_and_score(task, _features(train_idx, informative, 1), train_targets,
                            _features(test_idx, informative, 2), test_records, ProbeSettings(), "test")
    assert score["n"] == 200 and score["unparsed"] == 0 and score["missing"] == 0
    assert low <= score["metrics"]["f1_micro"] <= high


def test_point_probe_reads_gaze_when_features_carry_it():
    task = registry.TASKS.get("gaze")
    rng = np.random.default_rng(0)
    points = rng.uniform(0.1, 0.9, size=(240, 2))

    def records(rows, offset):
        return [{"id": f"g{offset + i}", "meta": {"task": "gaze", "gaze_points": [list(p)], "head_box": [0, 0, 0.2, 0.2],
                 "eye": [0.1, 0.1], "image_size": [64, 64]}} for i, p in enumerate(rows)]

    def feats(rows, informative):
        noise = rng.normal(size=(len(rows), 8))
        return np.hstack([rows * 3 + 0.01 * noise[:, :2], noise]) if informative else noise

    results = {}
    for informative in (True, False):
        train, test = points[:160], points[160:]
        score = probe_and_score(task, feats(train, informative), [("point", list(p)) for p in train],
                                feats(test, informative), records(test, 160), ProbeSettings(ridge_alpha=1e-3), "gaze")
        results[informative] = score["metrics"]
    assert results[True]["avg_l2"] < 0.03  # the two-decimal answer format limits precision
    assert results[False]["avg_l2"] > 0.15  # ~ the spread of uniform points around their mean


def test_multi_label_probe_scores_emotion_map():
    task = registry.TASKS.get("emotion")
    rng = np.random.default_rng(0)
    cats = ["Happiness", "Fear", "Anger"]
    truth = rng.random((300, 3)) < 0.4
    truth[truth.sum(1) == 0, 0] = True
    features = np.hstack([truth * 3.0 + rng.normal(scale=0.3, size=truth.shape), rng.normal(size=(300, 5))])
    targets = [("multi", [c for c, t in zip(cats, row) if t]) for row in truth]
    test_records = [{"id": str(i), "meta": {"task": "emotion", "categories": targets[i][1], "vad": None}}
                    for i in range(200, 300)]
    score = probe_and_score(task, features[:200], targets[:200], features[200:], test_records, ProbeSettings(), "emotion")
    assert score["metrics"]["mean_ap"] > 0.95
    noise = rng.normal(size=features.shape)
    blind = probe_and_score(task, noise[:200], targets[:200], noise[200:], test_records, ProbeSettings(), "emotion")
    assert blind["metrics"]["mean_ap"] < 0.75


def test_single_class_training_split_is_an_error():
    task = registry.TASKS.get("gesture")
    with pytest.raises(ProbeError, match="single class"):
        probe_and_score(task, np.zeros((4, 3)), [("single", "like")] * 4, np.zeros((1, 3)),
                        _gesture_records(["like"], "x"), ProbeSettings(), "gesture_train.json")


@pytest.fixture(scope="module")
def two_towers(tiny_assets, tmp_path_factory):
    """The tiny tower ("sees" colors) and a blind copy whose patch embedding is zero (every image
    gives the same tokens)."""
    folder = tmp_path_factory.mktemp("blind-tower")
    state = torch.load(tiny_assets.tower_weights, map_location="cpu", weights_only=True)
    state["visual.conv1.weight"] = torch.zeros_like(state["visual.conv1.weight"])
    blind = folder / "blind.pt"
    torch.save(state, blind)
    return tiny_assets.vision_tower, f"open_clip:{tiny_assets.tower_arch}@{blind}"


@pytest.fixture(scope="module")
def color_gestures(tmp_path_factory):
    """Colored-square images converted as gesture records: the label is the square's color."""
    from socialfusion_plugin.demo.synthetic_data import write_color_dataset

    root = tmp_path_factory.mktemp("color-gestures")
    data = json.loads(write_color_dataset(root / "gesture", count=64, seed=3).read_text())
    records = [{"id": r["id"], "image": r["image"], "conversations": r["conversations"],
                "meta": {"task": "gesture", "split": "x", "label": COLOR_TO_GESTURE[r["conversations"][1]["value"]],
                         "hand_boxes": [[0.0, 0.0, 1.0, 1.0]]}} for r in data]
    (root / "converted").mkdir()  # the data layout: converted/<task>_<split>.json
    (root / "converted" / "gesture_train.json").write_text(json.dumps(records[:44]))
    (root / "converted" / "gesture_test.json").write_text(json.dumps(records[44:]))
    (root / "gesture" / "images").rename(root / "gesture" / "img")
    for name in ("gesture_train.json", "gesture_test.json"):  # images relative to DATA_ROOT/gesture/
        path = root / "converted" / name
        path.write_text(path.read_text().replace('"image": "', '"image": "img/'))
    return root


def test_seeing_tower_decodes_color_gestures_and_blind_tower_does_not(two_towers, color_gestures, tmp_path):
    seeing, blind = two_towers
    config = ProbeConfig(encoders=[seeing, blind], tasks=["gesture"], out_dir=tmp_path / "out",
                         cache_dir=tmp_path / "cache", data_root=color_gestures, layers=[-1], poolings=["mean"],
                         progress=False)
    result = run_probe(config)
    values = {row["encoder"]: row["value"] for row in result["results"]}
    assert values[seeing] >= 0.9
    assert values[blind] <= 0.4  # 4 balanced classes: chance is 0.25
    assert all(row["n_train"] == 44 and row["n_test"] == 20 for row in result["results"])
