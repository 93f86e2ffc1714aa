"""The README's "Adding a sixth task" example, run exactly as written: one folder, no other edit."""
import json
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.registry import TASKS

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- sixth-task:{re.escape(marker)} -->\s*```\w+\n(.*?)```", text, re.S)
    assert match, f"README has no code block after <!-- sixth-task:{marker} -->"
    return match.group(1)


@pytest.fixture
def smile_plugin(tmp_path, monkeypatch):
    package = tmp_path / "plugins" / "my_social_tasks"
    (package / "smile").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "smile" / "__init__.py").write_text(readme_block("__init__.py"))
    (package / "smile" / "prompts.yaml").write_text(readme_block("prompts.yaml"))
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    __import__("my_social_tasks.smile")
    yield
    TASKS.unregister("smile")
    for name in [m for m in sys.modules if m.startswith("my_social_tasks")]:
        del sys.modules[name]


def test_readme_sixth_task_converts_and_scores(smile_plugin, tmp_path, capsys):
    root = tmp_path / "my_smiles"
    (root / "photos").mkdir(parents=True)
    for name in ("a", "b"):
        Image.new("RGB", (8, 6)).save(root / "photos" / f"{name}.jpg")
    (root / "test.csv").write_text("image,smiling\nphotos/a.jpg,1\nphotos/b.jpg,0\nphotos/c.jpg,1\nphotos/a.jpg,maybe\n")
    assert main(["tasks"]) == 0
    assert "smile  (my smile photos)" in capsys.readouterr().out
    out, report = tmp_path / "smile.json", tmp_path / "report.json"
    assert main(["convert", "smile", "--root", str(root), "--split", "test", "--out", str(out),
                 "--report", str(report), "--no-progress"]) == 0
    records = json.loads(out.read_text())
    assert [r["conversations"][1]["value"] for r in records] == ["yes", "no"]
    assert records[0]["conversations"][0]["value"] == "<image>\nIs the person in the picture smiling? Answer yes or no."
    counts = json.loads(report.read_text())
    assert (counts["read"], counts["converted"], counts["skipped"]) == (4, 2, 2)
    assert counts["skip_reasons"] == {"bad smiling value": 1, "image not found": 1}
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"id": "smile/test/a", "text": "Yes, smiling."}\n{"id": "smile/test/b", "text": "yes"}\n')
    metrics = tmp_path / "m.json"
    assert main(["score", "smile", "--predictions", str(predictions), "--references", str(out), "--out", str(metrics)]) == 0
    assert json.loads(metrics.read_text())["metrics"] == {"accuracy": 0.5}
