"""Shared test fixtures. Tests build tiny models and small synthetic files in the real formats;
nothing is downloaded."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).parent / "tasks" / "golden"
UPDATE_GOLDEN = os.environ.get("SOCIALFUSION_UPDATE_GOLDEN") == "1"


@pytest.fixture
def golden():
    """golden(name, value): compare `value` (JSON-serializable) with tests/tasks/golden/<name>.json.

    Set SOCIALFUSION_UPDATE_GOLDEN=1 to (re)write the snapshot after a deliberate prompt or format
    change; review the diff before committing it.
    """

    def check(name: str, value) -> None:
        path = GOLDEN_DIR / f"{name}.json"
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        if UPDATE_GOLDEN or not path.exists():
            if not UPDATE_GOLDEN:
                pytest.fail(f"golden snapshot {path} is missing; run with SOCIALFUSION_UPDATE_GOLDEN=1 to create it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"converted output differs from golden snapshot {path.name}"

    return check


@pytest.fixture(scope="session")
def deepspeed_runs_here():
    """Skips a test that needs DeepSpeed where it cannot run: only on a CPU-only machine under LLaVA's
    own pins (accelerate 0.21 forces NCCL; DeepSpeed 0.12.6's CPU accelerator needs Intel's oneccl).
    The project lane runs these tests; the reason is in the skip message."""
    from socialfusion_plugin.host.llava.environment.versions import deepspeed_cpu_blocker

    reason = deepspeed_cpu_blocker()
    if reason is not None:
        pytest.skip(f"DeepSpeed cannot run on this CPU-only machine: {reason}")


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory):
    """A tiny random LLaMA (+ SentencePiece tokenizer) and a tiny open_clip tower, built once."""
    from socialfusion_plugin.demo.tiny_assets import build_tiny_assets

    return build_tiny_assets(tmp_path_factory.mktemp("tiny-models"), seed=0)


@pytest.fixture(scope="session")
def color_data(tmp_path_factory):
    """16 generated images with one-question conversations in LLaVA's format."""
    from socialfusion_plugin.demo.synthetic_data import write_color_dataset

    return write_color_dataset(tmp_path_factory.mktemp("color-data"), count=16, seed=0)


# Generated data for the data-recipe and training-recipe tests: the five synthetic social releases
# laid out as the shipped recipes expect under $SOCIALFUSION_DATA, plus a LLaVA-format general JSON.
def write_social_data(root: Path) -> Path:
    from socialfusion_plugin.demo.releases import write_all_releases
    from socialfusion_plugin.demo.synthetic_data import write_color_dataset

    write_all_releases(root)
    general = root / "llava"
    data = write_color_dataset(general, count=16, seed=0)
    records = json.loads(data.read_text())
    for record in records:  # like mix665k's "coco/train2017/...": relative to the llava folder
        record["image"] = "images/" + record["image"]
    (general / "llava_v1_5_mix665k.json").write_text(json.dumps(records, indent=1))
    data.unlink()
    return root


@pytest.fixture(scope="session")
def social_data(tmp_path_factory):
    return write_social_data(tmp_path_factory.mktemp("social-data"))


@pytest.fixture
def data_env(social_data, monkeypatch, tmp_path):
    """$SOCIALFUSION_DATA -> the generated data; a fresh conversion cache per test."""
    monkeypatch.setenv("SOCIALFUSION_DATA", str(social_data))
    monkeypatch.setenv("SOCIALFUSION_CACHE", str(tmp_path / "cache"))
    return social_data
