"""A disk that fills up while `eval` writes its predictions, made for real (a small tmpfs refilled to
the last byte after the first batch): one line naming the predictions file and the disk, exit 2;
the rows written so far stay, and the same command resumes, once space is freed, to the file an
uninterrupted run writes.

tmpfs hands out whole pages, so a predictions file only meets the full disk when it grows past its
last page: the test split is the gesture test split repeated until its predictions span several
pages."""
import json

from fault_mounts import fill, small_disk
from socialfusion_plugin.cli.main import main
from socialfusion_plugin.evaluation import runner


PAGE = 4096


def repeated_split(data, out, copies):
    """The converted split `copies` times over, each copy with its own ids (same images)."""
    records = json.loads(data.read_text())
    out.write_text(json.dumps([dict(r, id=f"{r['id']}-copy{n}") for n in range(copies) for r in records]))
    return out


def eval_args(checkpoint, data, root, out):
    return ["eval", "--model-path", str(checkpoint), "--task", "gesture", "--data", str(data), "--image-folder",
            str(root), "--out", str(out), "--max-new-tokens", "8", "--batch-size", "2", "--no-progress"]


def test_the_disk_filling_up_mid_eval_is_one_line_and_the_run_resumes(color_checkpoint, social_test_splits, tmp_path,
                                                                     capsys, monkeypatch):
    gesture, root = social_test_splits["gesture"]
    data = repeated_split(gesture, tmp_path / "gesture_many.json", copies=40)
    whole = tmp_path / "whole.preds.jsonl"
    assert main(eval_args(color_checkpoint, data, root, whole)) == 0
    assert whole.stat().st_size > 2 * PAGE  # the file needs new pages after the first batch

    with small_disk(tmp_path / "disk", 1 << 20) as disk:
        out = disk / "eval" / "gesture.preds.jsonl"
        real_append = runner.append_predictions

        def append_then_fill(path, rows):
            written = real_append(path, rows)
            if not (disk / "ballast").exists():
                fill(disk)  # the disk is full from the second batch on
            return written

        monkeypatch.setattr(runner, "append_predictions", append_then_fill)
        capsys.readouterr()
        assert main(eval_args(color_checkpoint, data, root, out)) == 2
        err = capsys.readouterr().err
        assert err.startswith("socialfusion eval: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
        assert f"{out}: no space left on the device" in err and f"free on the disk mounted at {disk}" in err, err
        # what was written before the fault stays, the row cut at the full page included (resume drops it)
        kept = out.read_text()
        assert PAGE <= len(kept) < len(whole.read_text()) and whole.read_text().startswith(kept)
        assert sorted(p.name for p in out.parent.iterdir()) == ["gesture.eval.json", "gesture.preds.jsonl"]

        monkeypatch.setattr(runner, "append_predictions", real_append)
        (disk / "ballast").unlink()
        assert main(eval_args(color_checkpoint, data, root, out)) == 0
        assert out.read_text() == whole.read_text()
        info = json.loads((out.parent / "gesture.eval.json").read_text())
        assert info["task"] == "gesture"
