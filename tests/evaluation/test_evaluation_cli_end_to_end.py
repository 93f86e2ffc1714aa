"""`socialfusion eval` (generate, rank, loss) and `report` through the CLI on a saved tiny checkpoint."""
import json

import pytest

from socialfusion_plugin.cli.main import main


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def eval_args(checkpoint, task, data, root, out, *extra):
    return ["eval", "--model-path", str(checkpoint), "--task", task, "--data", str(data), "--image-folder", str(root),
            "--out", str(out), "--max-new-tokens", "8", "--no-progress", *extra]


def test_generate_is_batch_size_invariant_and_resumes(color_checkpoint, social_test_splits, tmp_path):
    data, root = social_test_splits["gesture"]
    ids = [str(r["id"]) for r in json.loads(data.read_text())]
    one, four = tmp_path / "bs1.preds.jsonl", tmp_path / "bs4.preds.jsonl"
    assert main(eval_args(color_checkpoint, "gesture", data, root, one, "--batch-size", "1")) == 0
    assert main(eval_args(color_checkpoint, "gesture", data, root, four, "--batch-size", "4")) == 0
    assert one.read_text() == four.read_text()
    assert [str(row["id"]) for row in read_lines(one)] == ids
    info = json.loads((tmp_path / "bs1.eval.json").read_text())
    assert info["task"] == "gesture" and info["checkpoint_kind"] == "full" and info["data"] == str(data.resolve())

    # resume: a partial run, then a cut-short last line, then the rest
    resumed = tmp_path / "resumed.preds.jsonl"
    assert main(eval_args(color_checkpoint, "gesture", data, root, resumed, "--limit", "2")) == 0
    assert len(read_lines(resumed)) == 2
    with open(resumed, "a") as handle:
        handle.write('{"id": "half a li')
    assert main(eval_args(color_checkpoint, "gesture", data, root, resumed, "--batch-size", "3")) == 0
    assert resumed.read_text() == one.read_text()


def test_broken_line_in_the_middle_is_an_error_naming_the_line(color_checkpoint, social_test_splits, tmp_path, capsys):
    data, root = social_test_splits["gesture"]
    out = tmp_path / "broken.preds.jsonl"
    out.write_text('{"id": "a", "text": "x"}\nnot json\n{"id": "b", "text": "y"}\n')
    assert main(eval_args(color_checkpoint, "gesture", data, root, out)) == 2
    assert f"{out}:2" in capsys.readouterr().err


@pytest.mark.slow
def test_rank_mode_writes_labels_and_probabilities_for_every_closed_set_task(color_checkpoint, social_test_splits,
                                                                              tmp_path):
    from socialfusion_plugin import registry

    run = tmp_path / "run"
    for task_name in ("gesture", "relation", "emotion", "gaze_video"):
        data, root = social_test_splits[task_name]
        out = run / "eval" / f"{task_name}.preds.jsonl"
        assert main(eval_args(color_checkpoint, task_name, data, root, out, "--mode", "rank", "--batch-size", "3")) == 0
        task = registry.TASKS.get(task_name)
        labels = set(task.rank_options(task.options()))
        rows = read_lines(out)
        assert len(rows) == len(json.loads(data.read_text()))
        for row in rows:
            assert set(row["scores"]) == labels == set(row["logprobs"])
            assert sum(row["scores"].values()) == pytest.approx(1.0)
            best = max(row["scores"], key=row["scores"].get)
            if task_name in ("gesture", "relation"):
                assert row["text"] == best
            elif task_name == "emotion":
                assert best in row["text"].split(", ")
    assert main(["report", str(run)]) == 0
    report = json.loads((run / "eval" / "report.json").read_text())
    assert set(report["tasks"]) == {"gesture", "relation", "emotion", "gaze_video"}
    emotion = json.loads((run / "eval" / "emotion.metrics.json").read_text())
    assert emotion["metrics"]["ap_from_class_scores"] == emotion["n"]  # real scores reached mAP
    for task_name in ("gesture", "relation", "gaze_video"):
        assert (run / "eval" / f"{task_name}.confusion.png").stat().st_size > 1000
    assert (run / "eval" / "emotion.ap.png").stat().st_size > 1000  # emotion is scored by AP
    assert "| relation | rank |" in (run / "eval" / "report.md").read_text()


def test_rank_mode_on_an_open_answer_task_is_refused(color_checkpoint, social_test_splits, tmp_path, capsys):
    data, root = social_test_splits["gaze"]
    assert main(eval_args(color_checkpoint, "gaze", data, root, tmp_path / "g.jsonl", "--mode", "rank")) == 2
    assert "no closed answer set" in capsys.readouterr().err


def test_loss_mode_for_base_and_checkpoint_feeds_the_forgetting_check(tiny_assets, color_checkpoint, color_data,
                                                                      social_test_splits, tmp_path):
    general = json.loads(color_data.read_text())[:4]
    general += [{"id": f"text-{i}", "conversations": [{"from": "human", "value": "Which color is warm?"},
                                                      {"from": "gpt", "value": "red"}]} for i in range(3)]
    general_file = tmp_path / "general.json"
    general_file.write_text(json.dumps(general))
    run = tmp_path / "run"
    common = ["--data", str(general_file), "--image-folder", str(color_data.parent / "images"), "--mode", "loss"]
    base_out, trained_out = run / "eval" / "general.base.loss.json", run / "eval" / "general.loss.json"
    assert main(["eval", "--model-path", str(tiny_assets.llm_dir), "--out", str(base_out), *common]) == 0
    assert main(["eval", "--model-path", str(color_checkpoint), "--out", str(trained_out), *common]) == 0
    base, trained = json.loads(base_out.read_text()), json.loads(trained_out.read_text())
    assert base["samples"] == 3 and base["skipped_image_samples"] == 4  # a text-only LM skips image samples
    assert trained["samples"] == 7 and trained["skipped_image_samples"] == 0
    assert trained["perplexity"] == pytest.approx(2.718281828 ** trained["mean_loss"])
    # like for like: the text-only samples for both
    assert main(["eval", "--model-path", str(color_checkpoint), "--out", str(trained_out), "--text-only", *common]) == 0
    trained = json.loads(trained_out.read_text())
    assert trained["sample_ids_sha256"] == base["sample_ids_sha256"]
    data, root = social_test_splits["relation"]
    assert main(eval_args(color_checkpoint, "relation", data, root, run / "eval" / "relation.preds.jsonl")) == 0
    assert main(["report", str(run)]) == 0
    forgetting = json.loads((run / "eval" / "report.json").read_text())["forgetting"]
    assert forgetting["same_samples"] is True
    assert forgetting["delta_loss"] == pytest.approx(trained["mean_loss"] - base["mean_loss"])
    assert "Forgetting check" in (run / "eval" / "report.md").read_text()
