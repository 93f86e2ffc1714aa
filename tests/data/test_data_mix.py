"""`socialfusion mix`: one LLaVA JSON + manifest, byte-identical for the same recipe and seed,
with images resolvable across several dataset roots; the converted-source cache is reused."""
import json
import os
from collections import Counter
from pathlib import Path


from socialfusion_plugin.cli.main import main

RECIPES = Path(__file__).resolve().parents[2] / "data_recipes"
GENERAL = RECIPES / "social5_general.yaml"


def mix(recipe, out, *extra):
    return main(["mix", str(recipe), "--out", str(out), "--no-progress", "--workers", "1", *extra])


def source_of(record):
    return record["meta"]["task"] if "meta" in record else "general"


def test_same_recipe_and_seed_give_byte_identical_files(data_env, tmp_path):
    assert mix(GENERAL, tmp_path / "a.json") == 0
    # a fresh cache: the second run converts everything again and must still match byte for byte
    assert mix(GENERAL, tmp_path / "b.json", "--cache-dir", str(tmp_path / "other-cache")) == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    manifest_a = json.loads((tmp_path / "a.manifest.json").read_text())
    manifest_b = json.loads((tmp_path / "b.manifest.json").read_text())
    manifest_a.pop("output"), manifest_b.pop("output")
    assert manifest_a == manifest_b


def test_manifest_counts_match_the_file(data_env, tmp_path):
    assert mix(GENERAL, tmp_path / "m.json") == 0
    records = json.loads((tmp_path / "m.json").read_text())
    manifest = json.loads((tmp_path / "m.manifest.json").read_text())
    counts = Counter(source_of(record) for record in records)
    assert manifest["total"] == len(records) == sum(counts.values())
    assert manifest["seed"] == 0 and manifest["temperature"] == 2.0
    by_name = {source["name"]: source for source in manifest["sources"]}
    assert set(by_name) == {"gesture", "relation", "gaze", "gaze_video", "emotion", "general"}
    for name, source in by_name.items():
        assert source["in_mixture"] == source["selected"] == counts[name], name
        assert len(source["fingerprint"]) == 64
    # weighted social sources share a pool of their summed sizes; general is a fixed 20%
    social = [by_name[name] for name in ("gesture", "relation", "gaze", "gaze_video", "emotion")]
    assert sum(s["selected"] for s in social) == sum(s["available"] for s in social)
    assert by_name["general"]["available"] == 16 and by_name["general"]["selected"] == 3
    # every conversion's counts are recorded: converted + skipped = read
    for source in social:
        conversion = source["conversion"]
        assert conversion["converted"] == source["available"]
        assert conversion["converted"] + conversion["skipped"] == conversion["read"]


def test_images_are_absolute_and_exist_across_roots(data_env, tmp_path):
    assert mix(GENERAL, tmp_path / "m.json") == 0
    records = json.loads((tmp_path / "m.json").read_text())
    roots = set()
    for record in records:
        assert os.path.isabs(record["image"]) and os.path.isfile(record["image"]), record["image"]
        # LLaVA joins --image_folder and the path: an absolute path wins whatever the folder is
        assert os.path.join("/any/image_folder", record["image"]) == record["image"]
        roots.add(Path(record["image"]).relative_to(data_env).parts[0])
    assert roots == {"gesture", "relation", "gaze", "gaze_video", "emotion", "llava"}


def test_image_root_writes_relative_paths(data_env, tmp_path):
    assert mix(GENERAL, tmp_path / "m.json", "--image-root", str(data_env)) == 0
    records = json.loads((tmp_path / "m.json").read_text())
    for record in records:
        assert not os.path.isabs(record["image"]) and (data_env / record["image"]).is_file()
    assert json.loads((tmp_path / "m.manifest.json").read_text())["image_paths"] == f"relative to {data_env}"


def test_image_root_that_misses_a_source_is_an_error(data_env, tmp_path, capsys):
    assert mix(GENERAL, tmp_path / "m.json", "--image-root", str(data_env / "gesture")) == 2
    error = capsys.readouterr().err
    assert "is not under --image-root" in error and "socialfusion mix: error:" in error
    assert not (tmp_path / "m.json").exists()


def test_seed_changes_the_order_and_max_samples_caps(data_env, tmp_path):
    text = GENERAL.read_text()
    (tmp_path / "seed1.yaml").write_text(text.replace("seed: 0", "seed: 1"))
    (tmp_path / "capped.yaml").write_text(text.replace("seed: 0", "seed: 0\nmax_samples: 5"))
    assert mix(GENERAL, tmp_path / "s0.json") == 0
    assert mix(tmp_path / "seed1.yaml", tmp_path / "s1.json") == 0
    assert mix(tmp_path / "capped.yaml", tmp_path / "capped.json") == 0
    s0 = json.loads((tmp_path / "s0.json").read_text())
    s1 = json.loads((tmp_path / "s1.json").read_text())
    capped = json.loads((tmp_path / "capped.json").read_text())
    assert [r["id"] for r in s0] != [r["id"] for r in s1]
    assert [r["id"] for r in capped] == [r["id"] for r in s0[:5]]  # the cap keeps the head of the same order
    assert json.loads((tmp_path / "capped.manifest.json").read_text())["total"] == 5


def test_conversion_is_cached_and_invalidated_by_a_changed_release(data_env, tmp_path, monkeypatch):
    import socialfusion_plugin.tasks.conversion as conversion

    recipe = RECIPES / "single_relation.yaml"
    calls = []
    real_convert = conversion.convert
    monkeypatch.setattr(conversion, "convert", lambda *a, **k: calls.append(1) or real_convert(*a, **k))
    assert mix(recipe, tmp_path / "1.json") == 0
    assert mix(recipe, tmp_path / "2.json") == 0
    assert len(calls) == 1  # the second run reads the Arrow cache
    assert (tmp_path / "1.json").read_bytes() == (tmp_path / "2.json").read_bytes()
    annotation = data_env / "relation" / "relationship.json"
    stat = annotation.stat()
    try:
        os.utime(annotation, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10 ** 9))
        assert mix(recipe, tmp_path / "3.json") == 0
        assert len(calls) == 2  # the release changed: converted again
    finally:
        os.utime(annotation, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_general_json_with_an_escaping_image_path_is_refused(data_env, tmp_path):
    folder = tmp_path / "general"
    folder.mkdir()
    (folder / "data.json").write_text(json.dumps([{"id": "a", "image": "../../etc/passwd",
                                                   "conversations": [{"from": "human", "value": "<image>\nq"},
                                                                     {"from": "gpt", "value": "a"}]}]))
    (tmp_path / "r.yaml").write_text(f"seed: 0\nsources:\n  - json: {folder}/data.json\n    image_folder: {folder}\n")
    assert mix(tmp_path / "r.yaml", tmp_path / "m.json") == 2


def test_a_json_source_that_is_not_a_list_of_records_is_an_error(data_env, tmp_path, capsys):
    (tmp_path / "data.json").write_text('[{"id": "a", "conversations": []}, 7]')
    (tmp_path / "r.yaml").write_text(f"seed: 0\nsources:\n  - json: {tmp_path}/data.json\n    image_folder: {tmp_path}\n")
    assert mix(tmp_path / "r.yaml", tmp_path / "m.json") == 2
    assert "data.json: record 1 is a int, not a LLaVA record" in capsys.readouterr().err


def test_the_default_mix_output_validates_clean(data_env, tiny_assets, tmp_path, capsys):
    # mix writes absolute image paths (LLaVA honours them); validate must accept its own pipeline's file
    out = tmp_path / "merged.json"
    assert mix(GENERAL, out) == 0
    code = main(["validate", str(out), "--image-folder", str(tmp_path), "--model", str(tiny_assets.llm_dir),
                 "--version", "v1", "--model-max-length", "512", "--image-tokens", "16", "--no-progress",
                 "--workers", "1", "--report", str(tmp_path / "r.json")])
    assert code == 0, capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["records"] == len(json.loads(out.read_text()))
