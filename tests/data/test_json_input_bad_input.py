"""JSON inputs (LLaVA JSON sources of `mix`/`validate`, annotation files, reference files) that are
broken: reported at the broken element with the file, record and line, memory independent of the
file's size, and as one line (exit 2) from the commands."""
from __future__ import annotations

import json
import tracemalloc

import pytest
from PIL import Image

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.json_records import JsonListError, iter_json_list
from socialfusion_plugin.json_records import read_json

RECORD = {"id": "r", "image": "a.png",
          "conversations": [{"from": "human", "value": "<image>\n" + "What is there? " * 20},
                            {"from": "gpt", "value": "a red square"}]}


def test_a_bad_token_at_record_0_of_a_large_file_is_reported_at_once_in_little_memory(tmp_path):
    path = tmp_path / "big.json"
    record = json.dumps(RECORD)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('[{"id": tru, "image": "a.png"},\n')
        for _ in range(80_000):
            handle.write(record + ",\n")
        handle.write(record + "]\n")
    assert path.stat().st_size > 25 * 2 ** 20
    tracemalloc.start()
    try:
        with pytest.raises(JsonListError, match=r"big.json: record 0 is not valid JSON: Expecting value \(line 1\)"):
            for _ in iter_json_list(path):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2 ** 20, f"peak {peak / 2 ** 20:.1f} MiB while reading a {path.stat().st_size >> 20} MiB file"


BROKEN_LISTS = [
    ("not-utf8", b'[{"a": 1},\n{"b": "caf\xe9"}]', r"bad.json:2: not UTF-8 text \(byte 0xe9 at byte offset 21\)"),
    ("nested", b"[1,\n" + b"[" * 100_000 + b"]" * 100_000 + b"]",
     r"bad.json: record 1 is nested too deeply to read \(line 2\)"),
    ("long-integer", b"[1, 2,\n" + b"1" * 5000 + b"]",
     r"bad.json: record 2 holds an integer of more than \d+ digits, more than Python converts \(line 2\)"),
    ("syntax", b'[{"a": 1},\n{"a": 1,, "b": 2}]', r"bad.json: record 1 is not valid JSON: .* \(line 2\)"),
    ("separator", b"[1,\n2\n3]", r"bad.json: expected ',' or '\]' after record 1, found '3' \(line 3\)"),
    ("trailing-text", b"[1, 2]\nmore", r"bad.json: unexpected text after the top-level value: 'more' \(line 2\)"),
    ("object", b'{"a": 1}', r"bad.json: a LLaVA data file is one JSON list of records; it does not start with '\['"),
]


@pytest.mark.parametrize("chunk_size", [3, 1 << 20])
@pytest.mark.parametrize("data, pattern", [case[1:] for case in BROKEN_LISTS], ids=[case[0] for case in BROKEN_LISTS])
def test_broken_lists_name_the_file_record_and_line(tmp_path, data, pattern, chunk_size):
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    with pytest.raises(JsonListError, match=pattern):
        list(iter_json_list(path, chunk_size=chunk_size))


@pytest.mark.parametrize("chunk_size", range(1, 24))
def test_values_cut_at_any_chunk_edge_come_back_whole(tmp_path, chunk_size):
    values = [1.5e-3, -0.25, 12, True, False, None, "\u00e9\U0001F600\\\"", {"k": [1, {"m": "\u20ac"}]}, 10 ** 40,
              -7e+300]
    path = tmp_path / "edges.json"
    path.write_text(json.dumps(values, ensure_ascii=chunk_size % 2 == 0), encoding="utf-8")
    assert [value for _, value in iter_json_list(path, chunk_size=chunk_size)] == values


@pytest.mark.parametrize("text, kind, pattern", [
    ('{"a": 1,\n "a": 2}', dict, r"key 'a' is listed twice \(line 2\)"),
    ('{"a": 1,\n "b" 2}', dict, r"expected ':' after key 'b' \(line 2\)"),
    ('{"a": 1}', list, r"expected a JSON list of records, got dict"),
    ("7", list, r"expected a JSON list of records, got int"),
    ("", list, r"the top-level value is not valid JSON"),
])
def test_read_json_names_the_file_and_line(tmp_path, text, kind, pattern):
    path = tmp_path / "annotations.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="annotations.json: " + pattern):
        read_json(path, "annotation file", kind, "a JSON list of records" if kind is list else "an object")


def test_read_json_on_a_folder(tmp_path):
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(ValueError, match="folder.json: is a folder, not the annotation file"):
        read_json(tmp_path / "folder.json", "annotation file")


# ---- through the commands -------------------------------------------------------------------

def _general_source(tmp_path, data: bytes):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "a.png")
    (tmp_path / "general.json").write_bytes(data)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"seed: 0\nsources:\n  - json: {tmp_path / 'general.json'}\n    image_folder: {folder}\n")
    return recipe, folder


COMMAND_CASES = [
    ("record-0", b'[{"id": tru},\n' + json.dumps(RECORD).encode() + b"]",
     "general.json: record 0 is not valid JSON: Expecting value (line 1)"),
    ("not-utf8", b"[" + json.dumps(RECORD).encode() + b',\n{"id": "\xff"}]', "general.json:2: not UTF-8 text"),
    ("nested", b"[" + json.dumps(RECORD).encode() + b",\n" + b"[" * 100_000 + b"]" * 100_000 + b"]",
     "general.json: record 1 is nested too deeply to read (line 2)"),
    ("long-integer", b'[{"id": ' + b"9" * 5000 + b"}]", "general.json: record 0 holds an integer of more than"),
]


@pytest.mark.parametrize("command", ["mix", "validate"])
@pytest.mark.parametrize("data, expected", [case[1:] for case in COMMAND_CASES],
                         ids=[case[0] for case in COMMAND_CASES])
def test_mix_and_validate_report_a_broken_json_source_in_one_line(tmp_path, monkeypatch, capsys, command, data,
                                                                     expected):
    monkeypatch.setenv("SOCIALFUSION_CACHE", str(tmp_path / "cache"))
    recipe, folder = _general_source(tmp_path, data)
    if command == "mix":
        code = main(["mix", str(recipe), "--out", str(tmp_path / "m.json"), "--no-progress"])
    else:
        code = main(["validate", str(tmp_path / "general.json"), "--image-folder", str(folder), "--no-progress"])
    error = capsys.readouterr().err
    assert code == 2, error
    assert error.startswith(f"socialfusion {command}: error: ") and error.count("\n") == 1, error
    assert expected in error, error


def test_validate_names_a_folder_given_as_the_json(tmp_path, capsys):
    (tmp_path / "data.json").mkdir()
    code = main(["validate", str(tmp_path / "data.json"), "--image-folder", str(tmp_path), "--no-progress"])
    error = capsys.readouterr().err
    assert code == 2 and "data.json: is a folder, not the LLaVA JSON" in error, error
