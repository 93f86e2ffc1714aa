"""`socialfusion eval-suite`: a checkpoint on several tasks into one results table, from names or a
suite file, resumable under the output guard, with predictions equal to `eval`'s; `report` and
`transfer` read its results folder."""
import csv
import json
import shutil

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.data_layout import DataLayout
from socialfusion_plugin.evaluation.provenance import info_path

COMMON = ["--max-new-tokens", "8", "--batch-size", "3", "--device", "cpu", "--no-progress"]


def suite_args(checkpoint, data_root, run, *extra):
    return ["eval-suite", "--model-path", str(checkpoint), "--data-root", str(data_root), "--out", str(run),
            *COMMON, *extra]


def test_suite_writes_one_table_and_predictions_equal_to_eval(color_checkpoint, laid_out_data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(suite_args(color_checkpoint, laid_out_data, run, "--tasks", "gesture", "gaze")) == 0
    eval_dir = run / "eval"
    table = json.loads((eval_dir / "results.json").read_text())
    assert [(r["task"], r["mode"], r["split"]) for r in table["rows"]] == [("gesture", "rank", "test"),
                                                                          ("gaze", "generate", "test")]
    layout = DataLayout(laid_out_data)
    for row in table["rows"]:
        metrics = json.loads((eval_dir / f"{row['task']}.metrics.json").read_text())
        assert row["value"] == metrics["metrics"][row["metric"]] and row["n"] == metrics["n"] > 0
        assert row["data"] == str(layout.converted(row["task"], "test").resolve())
    assert table["command"].startswith("socialfusion eval-suite --model-path ")
    assert "--tasks gesture gaze" in table["command"]
    assert table["checkpoint"]["model_path_weights"]["model.safetensors"].endswith(
        json.loads((eval_dir / "gesture.eval.json").read_text())["provenance"]["model_path_weights"]["model.safetensors"][-16:])
    assert table["versions"]["torch"] and table["versions"]["transformers"] and table["processes"] == 1
    with open(eval_dir / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["task"], r["mode"], r["metric"]) for r in rows] == [(t["task"], t["mode"], t["metric"]) for t in table["rows"]]
    markdown = (eval_dir / "results.md").read_text()
    assert "| gesture | test | rank |" in markdown and table["command"] in markdown

    # the same predictions as one `eval` per task with the same settings
    for task, mode in (("gesture", "rank"), ("gaze", "generate")):
        single = tmp_path / "single" / f"{task}.preds.jsonl"
        assert main(["eval", "--model-path", str(color_checkpoint), "--task", task, "--mode", mode,
                     "--data", str(layout.converted(task, "test")), "--image-folder", str(layout.release(task)),
                     "--out", str(single), *COMMON]) == 0
        assert single.read_bytes() == (eval_dir / f"{task}.preds.jsonl").read_bytes()
        # eval is eval-suite with one task: the same provenance, and the same line printed
        assert (json.loads(info_path(single).read_text())["provenance"]
                == json.loads((eval_dir / f"{task}.eval.json").read_text())["provenance"])
        assert f"{task} ({mode}): " in capsys.readouterr().out

    # a rerun predicts nothing; another mode into the same folder is refused, naming the difference
    capsys.readouterr()
    assert main(suite_args(color_checkpoint, laid_out_data, run, "--tasks", "gesture", "gaze")) == 0
    assert "gesture (rank): 0 predicted, " in capsys.readouterr().out
    assert main(suite_args(color_checkpoint, laid_out_data, run, "--tasks", "gesture", "--mode", "generate")) == 2
    err = capsys.readouterr().err
    assert "mode: 'rank' (in the file) -> 'generate' (this run)" in err and "--overwrite" in err

    # report and transfer take the results folder (RUN/eval) directly
    assert main(["report", str(eval_dir)]) == 0
    assert set(json.loads((eval_dir / "report.json").read_text())["tasks"]) == {"gesture", "gaze"}
    assert main(["transfer", "--single", f"gesture={eval_dir}", "--joint", str(eval_dir), "--out",
                 str(tmp_path / "transfer")]) == 0
    transferred = json.loads((tmp_path / "transfer" / "transfer.json").read_text())["rows"][0]
    assert transferred["single"] == transferred["joint"] == table["rows"][0]["value"]
    # a bare results folder stands for every task of its table
    assert main(["transfer", "--single", str(eval_dir), "--joint", str(run), "--out", str(tmp_path / "all")]) == 0
    rows = json.loads((tmp_path / "all" / "transfer.json").read_text())["rows"]
    assert [(r["task"], r["single"]) for r in rows] == [(r["task"], r["value"]) for r in table["rows"]]
    assert main(["transfer", "--single", str(tmp_path), "--joint", str(run)]) == 2


def test_an_interrupted_many_process_run_resumes_and_merges_in_record_order(color_checkpoint, laid_out_data,
                                                                           tmp_path):
    """Shard files of a two-process run killed before merging: a one-process rerun keeps their
    predictions, predicts the rest, and the merged file equals a fresh run's byte for byte."""
    fresh = tmp_path / "fresh"
    args = ("--tasks", "gesture", "--batch-size", "1")
    assert main(suite_args(color_checkpoint, laid_out_data, fresh, *args)) == 0
    lines = (fresh / "eval" / "gesture.preds.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) >= 4

    run = tmp_path / "resumed"
    shards = run / "eval" / "shards"
    shards.mkdir(parents=True)
    info = json.loads((fresh / "eval" / "gesture.eval.json").read_text())
    # batches of 1 dealt to two processes: each finished its first batch, process 1 was cut mid-line
    (shards / "gesture.rank0-of-2.preds.jsonl").write_bytes(lines[0])
    (shards / "gesture.rank1-of-2.preds.jsonl").write_bytes(lines[1] + b'{"id": "cut sh')
    for rank in (0, 1):
        (shards / f"gesture.rank{rank}-of-2.eval.json").write_text(json.dumps(info))
    assert main(suite_args(color_checkpoint, laid_out_data, run, *args)) == 0
    assert (run / "eval" / "gesture.preds.jsonl").read_bytes() == b"".join(lines)
    assert not list(shards.iterdir())  # merged, then removed

    # a shard of another evaluation is refused, and --overwrite discards it
    other = dict(info, provenance=dict(info["provenance"], seed=7))
    (shards / "gesture.rank0-of-2.preds.jsonl").write_bytes(lines[0])
    (shards / "gesture.rank0-of-2.eval.json").write_text(json.dumps(other))
    (run / "eval" / "gesture.preds.jsonl").unlink()
    assert main(suite_args(color_checkpoint, laid_out_data, run, *args)) == 2
    assert main(suite_args(color_checkpoint, laid_out_data, run, *args, "--overwrite")) == 0
    assert (run / "eval" / "gesture.preds.jsonl").read_bytes() == b"".join(lines)


def test_suite_file_pins_split_mode_options_and_files(color_checkpoint, laid_out_data, tmp_path, monkeypatch):
    layout = DataLayout(laid_out_data)
    moved = tmp_path / "elsewhere" / "emotion.json"
    moved.parent.mkdir()
    shutil.copy(layout.converted("emotion", "test"), moved)
    monkeypatch.setenv("MY_DATA", str(laid_out_data))
    suite = tmp_path / "suite.yaml"
    suite.write_text("data_root: ${MY_DATA}\n"
                     "tasks:\n"
                     "  - task: relation\n    options: {granularity: fine}\n    mode: generate\n"
                     f"  - task: emotion\n    data: {moved}\n"
                     "  - task: gaze_video\n    limit: 4\n")
    run = tmp_path / "run"
    assert main(["eval-suite", "--model-path", str(color_checkpoint), "--suite", str(suite), "--out", str(run),
                 *COMMON]) == 0
    table = json.loads((run / "eval" / "results.json").read_text())
    assert [(r["task"], r["mode"]) for r in table["rows"]] == [("relation", "generate"), ("emotion", "rank"),
                                                               ("gaze_video", "rank")]
    assert table["rows"][0]["options"] == {"granularity": "fine"}
    limited = table["rows"][2]
    # exactly the 4 evaluated records are scored (none counted missing), and the table says so
    assert (limited["limit"], limited["n"], limited["missing"]) == (4, 4, 0) and limited["available"] > 4
    metrics = json.loads((run / "eval" / "gaze_video.metrics.json").read_text())
    assert metrics["n"] == 4 and metrics["missing"] == 0
    assert f"| gaze_video | test | rank | 4 (limit: first 4 of {limited['available']}) |" in (
        run / "eval" / "results.md").read_text()
    with open(run / "eval" / "results.csv", newline="") as handle:
        written = {r["task"]: r for r in csv.DictReader(handle)}
    assert (written["gaze_video"]["n"], written["gaze_video"]["limit"], written["relation"]["limit"]) == ("4", "4", "")
    versions = table["versions"]
    assert any(versions.get(name) for name in ("llava", "llava-torch")) == _llava_installed()
    assert table["rows"][1]["data"] == str(moved.resolve()) and table["suite"] == str(suite)
    assert len((run / "eval" / "gaze_video.preds.jsonl").read_text().splitlines()) == 4


@pytest.mark.parametrize("text, message", [
    ("tasks: [gesture]\nsplits: test\n", "suite.yaml: unknown key(s) splits"),
    ("tasks:\n  - task: gesture\n    mdoe: rank\n", "suite.yaml: tasks[0]: unknown key(s) mdoe"),
    ("tasks: [gesture, gesture]\n", "task gesture is listed twice"),
    ("tasks:\n  - task: gaze\n    mode: rank\n", "tasks[0]: task gaze has no answer options to rank"),
    ("tasks:\n  - task: gesture\n    split: dev\n", "tasks[0]: task gesture has no split 'dev'"),
    ("tasks:\n  - task: relation\n    options: {granularity: medium}\n", "tasks[0]: task relation"),
    ("tasks:\n  - task: nope\n", "tasks[0].task"),
    ("tasks: []\n", "'tasks' must be a non-empty list"),
    ("tasks: [gesture\n", "suite.yaml:2: not a valid suite file"),
    ("!!python/object:os.system {}\n", "suite.yaml:1: not a valid suite file"),
])
def test_bad_suite_files_are_one_line_naming_the_file(tmp_path, capsys, text, message):
    suite = tmp_path / "suite.yaml"
    suite.write_text(text)
    assert main(["eval-suite", "--model-path", str(tmp_path), "--suite", str(suite)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_task_names_choose_rank_where_a_task_has_options(tmp_path):
    from socialfusion_plugin import registry
    from socialfusion_plugin.evaluation.suite import SuiteError, suite_from_names

    suite = suite_from_names(["all"], DataLayout(tmp_path))
    assert suite.names == registry.list_tasks()
    modes = {e.task: e.mode for e in suite.entries}
    assert modes == {"gesture": "rank", "relation": "rank", "emotion": "rank", "gaze_video": "rank", "gaze": "generate"}
    assert all(e.data == tmp_path / "converted" / f"{e.task}_test.json" and e.image_folder == tmp_path / e.task
               for e in suite.entries)
    with pytest.raises(SuiteError, match="relation, which are not evaluated"):
        suite_from_names(["gesture"], DataLayout(tmp_path), options={"relation": {"granularity": "fine"}})


def test_shards_deal_whole_batches_round_robin():
    from socialfusion_plugin.evaluation.suite_processes import shard_batches

    records = list(range(10))
    shards = [shard_batches(records, 3, rank, 2) for rank in range(2)]
    assert shards == [[0, 1, 2, 6, 7, 8], [3, 4, 5, 9]]
    assert sorted(shards[0] + shards[1]) == records
    assert shard_batches(records, 4, 2, 3) == [8, 9]


@pytest.mark.parametrize("environ, message", [
    ({"RANK": "2", "WORLD_SIZE": "2"}, "need 0 <= RANK < WORLD_SIZE"),
    ({"RANK": "x", "WORLD_SIZE": "2"}, "must be integers"),
])
def test_launcher_environment_is_checked(environ, message):
    from socialfusion_plugin.evaluation.suite_processes import ProcessGroupError, processes_from_env

    with pytest.raises(ProcessGroupError, match=message):
        processes_from_env(environ)
    assert processes_from_env({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}).rank == 1
    assert not processes_from_env({}).distributed


def _llava_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("llava") is not None
