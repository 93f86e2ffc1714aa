"""Streaming a LLaVA JSON list record by record, whatever the chunk boundaries."""
import json
import random

import pytest

from socialfusion_plugin.json_records import JsonListError, iter_json_list


@pytest.mark.parametrize("indent", [None, 1])
@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
def test_records_come_back_exactly(tmp_path, indent, chunk_size):
    generator = random.Random(0)
    records = [{"id": i, "x": generator.random() * 1e6, "n": generator.randint(0, 10 ** 12), "s": "é" * (i % 9),
                "conversations": [{"from": "human", "value": "<image>\nq"}]} for i in range(300)] + [12345, "text"]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(records, indent=indent, ensure_ascii=False), encoding="utf-8")
    assert [record for _, record in iter_json_list(path, chunk_size)] == records


@pytest.mark.parametrize("text, pattern", [
    ('{"a": 1}', "a LLaVA data file is one JSON list of records; it does not start with '\\['"),
    ("[1, 2 3]", "expected ',' or '\\]' after record 1, found '3'"),
    ("[1, 2", "expected ',' or '\\]' after record 1, found the end of the file"),
    ('[1, {"a": ]', "record 1 is not valid JSON"),
])
def test_malformed_files_name_the_file_and_record(tmp_path, text, pattern):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(JsonListError, match="bad.json: " + pattern):
        list(iter_json_list(path, chunk_size=3))


def test_empty_list(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(" [ ] ")
    assert list(iter_json_list(path)) == []
