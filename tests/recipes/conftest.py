"""Generated data for the data-recipe tests: the five synthetic social releases laid out as the
shipped recipes expect under $SOCIALFUSION_DATA, plus a LLaVA-format general JSON with images."""
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "data_recipes"


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
