"""The demo's gaze cue (a bright dot at the target) reaches what the connector gets: the frozen tiny
tower's patch tokens at --mm_vision_select_layer -2, one token at a time, as LLaVA's per-token
connector sees them. If this fails, gaze cannot be learned in the demo whatever the language model
does; if it passes and gaze still does not learn, the cause is downstream (see
tests/demo/test_every_task_learns.py and docs/demo.md, "What the demo can and cannot learn")."""
import random

import numpy as np
import pytest
import torch

from socialfusion_plugin.demo.cue_releases import gaze_scene
from socialfusion_plugin.demo.tiny_assets import build_tiny_tower
from socialfusion_plugin.model.open_clip_tower import OpenClipVisionTower
from socialfusion_plugin.tasks.gaze import person_metrics

SCENES, FIT = 400, 300
PATCHES_PER_SIDE = 4  # 32 px tower input, 8 px patches


def _auc(points, targets):
    return float(np.mean([person_metrics({"image_size": [64, 64], "gaze_points": [t.tolist()]}, p)["auc"]
                          for p, t in zip(points, targets)]))


def _ridge(features, targets, lam):
    x = np.c_[features, np.ones(len(features))]
    w = np.linalg.solve(x[:FIT].T @ x[:FIT] + lam * np.eye(x.shape[1]), x[:FIT].T @ targets[:FIT])
    return np.clip(x[FIT:] @ w, 0.0, 1.0)


@pytest.fixture(scope="module")
def tower_tokens(tmp_path_factory):
    arch, weights = build_tiny_tower(tmp_path_factory.mktemp("tower"), seed=0)
    tower = OpenClipVisionTower(f"open_clip:{arch}@{weights}")  # select layer -2, patch tokens: the demo's
    rng = random.Random("gaze-cue-probe")
    scenes = [gaze_scene(rng) for _ in range(SCENES)]
    pixels = tower.image_processor.preprocess([s[0] for s in scenes], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        tokens = tower(pixels).numpy()
    targets = np.array([s[2] for s in scenes], dtype=np.float64)
    return tokens, targets


def test_the_dot_token_alone_tells_where_the_person_looks(tower_tokens):
    tokens, targets = tower_tokens
    assert tokens.shape[1] == PATCHES_PER_SIDE ** 2
    cell = np.clip((targets * PATCHES_PER_SIDE).astype(int), 0, PATCHES_PER_SIDE - 1)
    dot_token = tokens[np.arange(len(tokens)), cell[:, 1] * PATCHES_PER_SIDE + cell[:, 0]]
    chance = _auc(np.tile(targets[:FIT].mean(0), (SCENES - FIT, 1)), targets[FIT:])
    dot = _auc(_ridge(dot_token, targets, 1.0), targets[FIT:])
    # measured: chance 0.645, the dot's token alone 0.947 (knowing only the dot's patch would give ~0.97)
    assert chance < 0.7
    assert dot > 0.9, f"the dot's own patch token no longer locates it: AUC {dot:.3f} (chance {chance:.3f})"


def test_even_the_mean_of_the_tokens_carries_the_point(tower_tokens):
    """What an image-blind attention (the same weight on every image token) could read: still well
    above chance, so a model that does not learn gaze is not starved of the cue."""
    tokens, targets = tower_tokens
    chance = _auc(np.tile(targets[:FIT].mean(0), (SCENES - FIT, 1)), targets[FIT:])
    pooled = _auc(_ridge(tokens.mean(1), targets, 1.0), targets[FIT:])  # measured: 0.744 (chance 0.645)
    assert pooled > chance + 0.08, f"mean-token probe AUC {pooled:.3f}, chance {chance:.3f}"
