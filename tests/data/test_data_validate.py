"""`socialfusion validate`: every kind of problem is found in a generated bad input, reported with
its record, and makes the command exit non-zero; shipped recipes validate clean on generated data."""
import json
from pathlib import Path

import pytest
from PIL import Image

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.data import validate as kinds

RECIPES = Path(__file__).resolve().parents[2] / "data_recipes"


def turns(*values):
    return [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(values)]


BAD_RECORDS = [
    ({"id": "ok", "image": "good.png", "conversations": turns("<image>\nWhat color?", "red")}, []),
    ({"id": "missing", "image": "nope.png", "conversations": turns("<image>\nq", "a")}, [kinds.IMAGE_MISSING]),
    ({"id": "broken", "image": "broken.png", "conversations": turns("<image>\nq", "a")}, [kinds.IMAGE_UNREADABLE]),
    ({"id": "two-tokens", "image": "good.png", "conversations": turns("<image>\n<image> q", "a")},
     [kinds.IMAGE_TOKEN_COUNT]),
    ({"id": "no-token", "image": "good.png", "conversations": turns("q", "a")}, [kinds.IMAGE_TOKEN_COUNT]),
    ({"id": "token-no-image", "conversations": turns("<image>\nq", "a")}, [kinds.IMAGE_TOKEN_COUNT]),
    ({"id": "gpt-first", "image": "good.png",
      "conversations": [{"from": "gpt", "value": "<image>\nq"}, {"from": "human", "value": "a"}]},
     [kinds.TURN_ORDER, kinds.TURN_ORDER]),
    ({"id": "empty", "image": "good.png", "conversations": turns("<image>\nq", "  ")}, [kinds.EMPTY_TURN]),
    ({"id": "malformed", "image": "good.png", "conversations": "q a"}, [kinds.MALFORMED]),
    ({"id": "image-list", "image": ["good.png", "good.png"], "conversations": turns("<image>\nq", "a")},
     [kinds.MALFORMED]),
    ({"id": "escape", "image": "../outside.png", "conversations": turns("<image>\nq", "a")}, [kinds.IMAGE_OUTSIDE]),
    ({"id": "unanswered", "image": "good.png", "conversations": turns("<image>\nq", "a", "and?")},
     [kinds.TURN_ORDER]),
    ({"id": "too-long", "image": "good.png", "conversations": turns("<image>\nq", " ".join(["red"] * 400))},
     [kinds.TOO_LONG]),
    ({"id": "text-only", "conversations": turns("Say red.", "red")}, []),
]


@pytest.fixture
def bad_dataset(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(folder / "good.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    Image.new("RGB", (8, 8)).save(tmp_path / "outside.png")  # exists, but outside the image folder
    data = tmp_path / "data.json"
    data.write_text(json.dumps([record for record, _ in BAD_RECORDS]))
    return data, folder


def validate(*args):
    return main(["validate", *map(str, args), "--no-progress", "--workers", "2"])


def test_every_finding_kind_is_reported_with_its_record(bad_dataset, tiny_assets, tmp_path, capsys):
    data, folder = bad_dataset
    report_path = tmp_path / "report.json"
    code = validate(data, "--image-folder", folder, "--model", tiny_assets.llm_dir, "--version", "v1",
                    "--model-max-length", "256", "--image-tokens", "16", "--report", report_path)
    assert code == 1
    report = json.loads(report_path.read_text())
    found = {}
    for finding in report["findings"]:
        found.setdefault(finding["id"], []).append(finding["kind"])
    expected = {record["id"]: sorted(kinds_) for record, kinds_ in BAD_RECORDS if kinds_}
    assert {key: sorted(value) for key, value in found.items()} == expected
    assert report["records"] == len(BAD_RECORDS)
    assert report["records_with_errors"] == len(expected)
    assert set(report["by_kind"]) == set(kinds.FINDING_KINDS) - {kinds.LABELS_MASKED}
    assert report["checks"] == {"images": True, "tokenization": True}
    summary = capsys.readouterr().out
    assert "image missing: 1" in summary and "record 1 id='missing'" in summary
    assert "longer than model_max_length: 1" in summary and f"full report: {report_path}" in summary


def test_a_wrong_template_is_reported_as_fully_masked_labels(bad_dataset, tiny_assets, tmp_path, capsys):
    data, folder = bad_dataset
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps([BAD_RECORDS[0][0], BAD_RECORDS[-1][0]]))
    report_path = tmp_path / "r.json"
    assert validate(clean, "--image-folder", folder, "--model", tiny_assets.llm_dir, "--version", "v1",
                    "--image-tokens", "16", "--report", report_path) == 0
    assert json.loads(report_path.read_text())["errors"] == 0
    # MPT's template with a LLaMA tokenizer: LLaVA's "tokenization mismatch" would mask every label
    assert validate(clean, "--image-folder", folder, "--model", tiny_assets.llm_dir, "--version", "mpt",
                    "--image-tokens", "16", "--report", report_path) == 1
    report = json.loads(report_path.read_text())
    assert report["by_kind"] == {kinds.LABELS_MASKED: 2}
    assert "tokenization mismatch" in report["findings"][0]["detail"]
    assert "--version mpt" in report["findings"][0]["detail"]


def test_the_template_of_the_process_is_left_alone(bad_dataset, tiny_assets, tmp_path):
    from llava import conversation as conversation_lib

    before = conversation_lib.default_conversation
    data, folder = bad_dataset
    validate(data, "--image-folder", folder, "--model", tiny_assets.llm_dir, "--version", "mpt",
             "--report", tmp_path / "r.json")
    assert conversation_lib.default_conversation is before


def test_without_a_model_structure_and_images_are_still_checked(bad_dataset, tmp_path, capsys):
    data, folder = bad_dataset
    assert validate(data, "--image-folder", folder, "--report", tmp_path / "r.json") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["checks"] == {"images": True, "tokenization": False}
    assert kinds.TOO_LONG not in report["by_kind"] and report["by_kind"][kinds.IMAGE_MISSING] == 1
    assert "label and length checks need --model" in capsys.readouterr().out


def test_the_default_report_goes_next_to_the_input(bad_dataset):
    data, folder = bad_dataset
    validate(data, "--image-folder", folder, "--no-image-check")
    report = json.loads((data.parent / "data.validation.json").read_text())
    assert report["checks"]["images"] is False and kinds.IMAGE_MISSING not in report["by_kind"]


@pytest.mark.parametrize("args, message", [
    (["--model", "/no/such/model"], "--model /no/such/model: not a folder with a tokenizer"),
    (["--model", "{llm}", "--version", "v9"], "--version 'v9' is not a LLaVA conversation template"),
    ([], None),
])
def test_usage_errors(bad_dataset, tiny_assets, capsys, args, message):
    data, folder = bad_dataset
    args = [arg.format(llm=tiny_assets.llm_dir) for arg in args]
    if message is None:  # a JSON without --image-folder
        assert validate(data, *args) == 2
        assert "--image-folder is required for a JSON input" in capsys.readouterr().err
        return
    assert validate(data, "--image-folder", folder, *args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_recipe_validates_clean_on_generated_data(path, data_env, tiny_assets, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    code = validate(path, "--model", tiny_assets.llm_dir, "--version", "v1", "--image-tokens", "16",
                    "--report", report_path)
    report = json.loads(report_path.read_text())
    assert code == 0, report["findings"][:3]
    assert report["records"] > 0 and report["errors"] == 0
    assert report["checks"] == {"images": True, "tokenization": True}
