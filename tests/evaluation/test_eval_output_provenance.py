"""`eval` into an existing --out: the same evaluation resumes; another model, mode, data or setting is
refused with every difference named, unless --overwrite; one writer at a time."""
import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from socialfusion_plugin.cli.main import main


def eval_args(checkpoint, data, root, out, *extra):
    return ["eval", "--model-path", str(checkpoint), "--task", "gesture", "--data", str(data), "--image-folder",
            str(root), "--out", str(out), "--max-new-tokens", "8", "--no-progress", *extra]


def snapshot(*paths):
    return [p.read_bytes() for p in paths]


def test_a_rerun_with_another_model_or_mode_is_refused_naming_each_difference(color_checkpoint, social_test_splits,
                                                                              tmp_path, capsys):
    data, root = social_test_splits["gesture"]
    n = len(json.loads(data.read_text()))
    out, info = tmp_path / "eval" / "gesture.preds.jsonl", tmp_path / "eval" / "gesture.eval.json"
    assert main(eval_args(color_checkpoint, data, root, out)) == 0
    before = snapshot(out, info)
    capsys.readouterr()

    other = tmp_path / "other-checkpoint"  # the same weights elsewhere: another model path all the same
    shutil.copytree(color_checkpoint, other)
    assert main(eval_args(other, data, root, out, "--mode", "rank")) == 2
    err = capsys.readouterr().err
    assert f"{out} holds {n} predictions made by a different evaluation" in err
    assert f"model_path: {str(color_checkpoint.resolve())!r} (in the file) -> {str(other.resolve())!r} (this run)" in err
    assert "mode: 'generate' (in the file) -> 'rank' (this run)" in err
    assert "--overwrite" in err and "model_path_weights" not in err  # same bytes, same fingerprint
    assert snapshot(out, info) == before  # nothing written: not the predictions, not the info
    recorded = json.loads(info.read_text())["provenance"]
    assert recorded["model_path"] == str(color_checkpoint.resolve()) and recorded["mode"] == "generate"
    assert "model.safetensors" in recorded["model_path_weights"] and len(recorded["data_sha256"]) == 64

    assert main(eval_args(color_checkpoint, data, root, out, "--max-new-tokens", "4", "--temperature", "0.5")) == 2
    err = capsys.readouterr().err
    assert "max_new_tokens: 8 (in the file) -> 4 (this run)" in err and "temperature: 0.0 (in the file) -> 0.5" in err
    assert snapshot(out, info) == before

    # the identical rerun resumes as before
    assert main(eval_args(color_checkpoint, data, root, out, "--batch-size", "3")) == 0
    assert f"0 predicted, {n} already done" in capsys.readouterr().out

    # --overwrite starts afresh with the new settings and records them
    assert main(eval_args(other, data, root, out, "--mode", "rank", "--overwrite")) == 0
    printed = capsys.readouterr().out
    assert f"{n} earlier predictions in {out} discarded" in printed and f"{n} predicted, 0 already" in printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == n and all("scores" in row for row in rows)
    written = json.loads(info.read_text())
    assert written["provenance"]["model_path"] == str(other.resolve()) and written["mode"] == "rank"


def test_changed_weights_data_or_an_unrecorded_file_are_refused(color_checkpoint, social_test_splits, tmp_path,
                                                                capsys):
    source, root = social_test_splits["gesture"]
    data = tmp_path / "gesture_test.json"
    shutil.copyfile(source, data)
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(color_checkpoint, checkpoint)
    out = tmp_path / "g.preds.jsonl"
    assert main(eval_args(checkpoint, data, root, out, "--limit", "2")) == 0
    capsys.readouterr()

    with open(checkpoint / "config.json", "a") as handle:  # same path, other bytes: "retrained"
        handle.write("\n")
    records = json.loads(data.read_text())
    data.write_text(json.dumps(records[::-1]))  # same path, other content
    assert main(eval_args(checkpoint, data, root, out)) == 2
    err = capsys.readouterr().err
    assert "model_path_weights: config.json changed (" in err and "data_sha256: " in err
    assert len(out.read_text().splitlines()) == 2

    (tmp_path / "g.eval.json").unlink()  # predictions without a record of what made them
    assert main(eval_args(checkpoint, data, root, out)) == 2
    assert "g.eval.json is missing" in capsys.readouterr().err
    assert main(eval_args(checkpoint, data, root, out, "--overwrite")) == 0
    assert len(out.read_text().splitlines()) == len(records)


def test_a_second_writer_of_the_same_output_is_refused(color_checkpoint, social_test_splits, tmp_path, capsys):
    data, root = social_test_splits["gesture"]
    out = tmp_path / "busy.preds.jsonl"
    out.write_text('{"id": "x", "text": "like"}\n')
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from filelock import FileLock
        with FileLock({str(out) + ".lock"!r}):  # what a running `eval --out` holds
            print("holding", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert main(eval_args(color_checkpoint, data, root, out, "--overwrite")) == 2
        err = capsys.readouterr().err
        assert f"{out}: another process is writing these predictions" in err
        assert out.read_text() == '{"id": "x", "text": "like"}\n'
    finally:
        holder.communicate("", timeout=60)
    assert main(eval_args(color_checkpoint, data, root, out, "--overwrite")) == 0  # free again


def test_provenance_normalizes_and_names_file_changes(tmp_path):
    from socialfusion_plugin.evaluation.provenance import differences, eval_provenance, weights_fingerprint

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"a" * (3 << 20))
    (model / "notes.txt").write_text("not a weights file")
    data = tmp_path / "d.json"
    data.write_text("[]")
    common = dict(task="gesture", mode="generate", task_options={"keep": (1, 2)}, model_path=model, model_base=None,
                  data=data, image_folder=None, conv_mode="v1", max_new_tokens=8, temperature=0, seed=0,
                  multi_label_threshold=0.1, dtype="float32")
    first = eval_provenance(**common)
    assert first == json.loads(json.dumps(first)) and first["task_options"] == {"keep": [1, 2]}
    assert list(first["model_path_weights"]) == ["model.safetensors"]
    with open(model / "model.safetensors", "r+b") as handle:  # the last MiB is sampled
        handle.seek((3 << 20) - 1)
        handle.write(b"b")
    assert differences(first, eval_provenance(**common)) == [
        f"model_path_weights: model.safetensors changed ({first['model_path_weights']['model.safetensors']} -> "
        f"{weights_fingerprint(model)['model.safetensors']})"]
    assert weights_fingerprint("org/hub-model") == "not a local path"


def test_an_unreadable_eval_info_file_is_an_error_naming_it(tmp_path):
    from socialfusion_plugin.errors import UserInputError
    from socialfusion_plugin.evaluation.provenance import read_info

    path = tmp_path / "gesture.eval.json"
    assert read_info(path) is None  # none yet
    for text, message in (("{\"model\": ", "gesture.eval.json"), ("[]", "expected an eval info file")):
        path.write_text(text)
        with pytest.raises(UserInputError, match=message) as raised:
            read_info(path)
        assert str(path) in str(raised.value)
