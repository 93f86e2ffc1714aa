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
def tiny_assets(tmp_path_factory):
    """A tiny random LLaMA (+ SentencePiece tokenizer) and a tiny open_clip tower, built once."""
    from socialfusion_plugin.demo.tiny_assets import build_tiny_assets

    return build_tiny_assets(tmp_path_factory.mktemp("tiny-models"), seed=0)


@pytest.fixture(scope="session")
def color_data(tmp_path_factory):
    """16 generated images with one-question conversations in LLaVA's format."""
    from socialfusion_plugin.demo.synthetic_data import write_color_dataset

    return write_color_dataset(tmp_path_factory.mktemp("color-data"), count=16, seed=0)
