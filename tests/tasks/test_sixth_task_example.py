"""The "Adding a task" page's examples (docs/adding-a-task.md), run exactly as written: the smile task's
folder, its entry point, the data recipe and every command of the pipeline, with no edit anywhere
else; and the rule of the page: an example task imports from `socialfusion_plugin.task_api` only."""
import ast
import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import socialfusion_plugin.task_api as task_api
from socialfusion_plugin.cli.main import main
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks import load_entry_point_tasks

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "adding-a-task.md"
TASK_API = "socialfusion_plugin.task_api"


def page_block(marker: str, example: str = "sixth-task") -> str:
    """The code block after `<!-- <example>:<marker> -->` on the page."""
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(example)}:{re.escape(marker)} -->\s*```\w+\n(.*?)```", text, re.S)
    assert match, f"{PAGE.name} has no code block after <!-- {example}:{marker} -->"
    return match.group(1)


def install_example(site: Path, example: str = "sixth-task") -> str:
    """The page's package of one example, installed as a distribution with the page's entry point;
    returns the task's name."""
    # the page's pyproject.toml table: a header line, then one `name = "package.module"` line
    header, *entries = [line.strip() for line in page_block("entry-point", example).splitlines() if line.strip()]
    group = "socialfusion_plugin.tasks"
    assert header == f'[project.entry-points."{group}"]'
    assert len(entries) == 1, entries
    name, package, module = re.fullmatch(r'(\w+) = "(\w+)\.(\w+)"', entries[0]).groups()
    (site / package / module).mkdir(parents=True)
    (site / package / "__init__.py").write_text("")
    (site / package / module / "__init__.py").write_text(page_block("__init__.py", example))
    (site / package / module / "prompts.yaml").write_text(page_block("prompts.yaml", example))
    info = site / f"{package}-0.1.dist-info"
    info.mkdir()
    distribution = package.replace("_", "-")
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {package}.{module}\n")
    return name


@contextlib.contextmanager
def installed_example(site: Path, monkeypatch, example: str = "sixth-task"):
    """The example's task, loaded through its entry point; unregistered and unimported afterwards."""
    name = install_example(site, example)
    package = next(path.name for path in site.iterdir() if not path.name.endswith(".dist-info"))
    monkeypatch.syspath_prepend(str(site))
    assert name in load_entry_point_tasks()
    try:
        yield name
    finally:
        TASKS.unregister(name)
        for module in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[module]


@pytest.fixture
def smile_plugin(tmp_path, monkeypatch):
    with installed_example(tmp_path / "site", monkeypatch) as name:
        assert name == "smile"
        yield


def package_imports_outside_the_api(source: str) -> list:
    """The modules of `socialfusion_plugin` that `source` imports, other than the task API."""
    imported = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.append(node.module)
    return [name for name in imported
            if name.split(".")[0] == "socialfusion_plugin" and name != TASK_API]


def test_the_import_check_finds_every_form_of_import():
    source = ("import csv\nfrom socialfusion_plugin.task_api import Task\nimport socialfusion_plugin.registry\n"
              "from socialfusion_plugin import task_api\ndef f():\n    from socialfusion_plugin.tasks.geometry import pixel_box\n")
    assert package_imports_outside_the_api(source) == [
        "socialfusion_plugin.registry", "socialfusion_plugin", "socialfusion_plugin.tasks.geometry"]


def test_every_example_imports_from_the_task_api_only():
    text = PAGE.read_text(encoding="utf-8")
    modules = re.findall(r"<!-- ([\w-]+:[\w./-]+) -->\s*```python\n(.*?)```", text, re.S)
    assert [marker for marker, _ in modules] == ["sixth-task:__init__.py", "tsv-task:__init__.py"]
    for marker, source in modules:
        outside = package_imports_outside_the_api(source)
        assert not outside, f"the example {marker} imports {outside}; a task imports from {TASK_API} only"


def test_the_task_api_docstring_lists_every_name_it_exports():
    # one line per name: "- `Name`: what it is for", or several constants sharing a line
    documented = []
    for line in task_api.__doc__.splitlines():
        if line.startswith("- `"):
            documented += re.findall(r"`(\w+)`", line.split(": ", 1)[0])
    assert sorted(documented) == sorted(task_api.__all__)
    assert len(set(task_api.__all__)) == len(task_api.__all__)
    assert all(hasattr(task_api, name) for name in task_api.__all__)


def write_smiles(root: Path, split: str, count: int) -> None:
    """Yellow pictures are smiling, blue ones are not; one row per picture."""
    (root / "photos").mkdir(parents=True, exist_ok=True)
    rows = ["image,smiling"]
    for index in range(count):
        smiling = index % 2 == 0
        name = f"photos/{split}_{index}.jpg"
        Image.new("RGB", (32, 32), (230, 200, 40) if smiling else (30, 60, 220)).save(root / name)
        rows.append(f"{name},{int(smiling)}")
    (root / f"{split}.csv").write_text("\n".join(rows) + "\n")


def test_sixth_task_converts_and_scores(smile_plugin, tmp_path, capsys):
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


@pytest.mark.slow
def test_sixth_task_goes_through_every_stage(tmp_path):
    from socialfusion_plugin.demo.releases import hagrid
    from socialfusion_plugin.demo.pipeline import write_general_data
    from socialfusion_plugin.demo.tiny_assets import build_tiny_assets

    site = tmp_path / "site"
    install_example(site)
    data, work, bin_dir = tmp_path / "data", tmp_path / "work", tmp_path / "bin"
    write_smiles(data / "smile", "train", 12)  # the data layout: a task's release in <data>/<task>/
    write_smiles(data / "smile", "test", 6)
    hagrid.standard_release(data / "gesture")
    write_general_data(data, seed=0)
    assets = build_tiny_assets(tmp_path / "models", seed=0)
    work.mkdir()
    (work / "smile_mix.yaml").write_text(page_block("smile_mix.yaml"))
    bin_dir.mkdir()  # `socialfusion` of the interpreter running the tests, whichever lane it is
    (bin_dir / "socialfusion").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m socialfusion_plugin.cli.main "$@"\n')
    (bin_dir / "socialfusion").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(site)]), LLM=str(assets.llm_dir),
               TOWER=assets.vision_tower, SOCIALFUSION_DATA=str(data), SOCIALFUSION_CACHE=str(tmp_path / "cache"),
               XDG_CACHE_HOME=str(tmp_path / "xdg"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    done = subprocess.run(["bash", "-e", "-c", page_block("pipeline.sh")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]

    mixed = json.loads((work / "smile_mix.json").read_text())
    assert {r["meta"]["task"] for r in mixed if "meta" in r} == {"smile", "gesture"}
    for run in ("smile_only", "smile_joint"):
        report = json.loads((work / "runs" / run / "eval" / "report.json").read_text())
        entry = report["tasks"]["smile"]
        assert (entry["mode"], entry["n"], entry["primary_metric"]) == ("rank", 6, "accuracy")
        assert 0.0 <= entry["primary_value"] <= 1.0
        assert set(entry["confusion"]["rows"]) == {"yes", "no"}  # a single-label answer: a confusion matrix
    ranked = [json.loads(line) for line in (work / "runs/smile_joint/eval/smile.preds.jsonl").read_text().splitlines()]
    assert all(set(row["scores"]) == {"yes", "no"} and row["text"] in ("yes", "no") for row in ranked)
    scored = json.loads((work / "runs/smile_joint/generated/smile.metrics.json").read_text())
    assert scored["n"] == 6 and set(scored["metrics"]) == {"accuracy"}
    transfer = json.loads((work / "runs/smile_joint/eval/transfer.json").read_text())
    assert [(row["task"], row["metric"]) for row in transfer["rows"]] == [("smile", "accuracy")]
    probe = json.loads((work / "probe_smile" / "probe_results.json").read_text())
    assert [(row["task"], row["primary_metric"]) for row in probe["results"]] == [("smile", "accuracy")]
    assert probe["results"][0]["value"] is not None
    conflict = json.loads((work / "conflict_smile" / "conflict.json").read_text())
    assert sorted(conflict["tasks"]) == ["gesture", "smile"]
