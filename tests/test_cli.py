import json

import pytest

from socialfusion_plugin.cli.main import main


def test_tasks_lists_the_five_tasks_with_splits_labels_and_metrics(capsys):
    assert main(["tasks", "--json"]) == 0
    described = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert {"gesture", "relation", "gaze", "gaze_video", "emotion"} <= set(described)
    assert len(described["gesture"]["labels"]) == 34
    assert described["gaze"]["labels"] is None
    assert len(described["emotion"]["labels"]) == 26
    assert all(described[name]["splits"] and described[name]["metrics"] for name in described)


def test_unknown_task_is_a_clear_error(capsys, tmp_path):
    assert main(["convert", "nope", "--root", str(tmp_path), "--split", "train", "--out", str(tmp_path / "o.json")]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err


def test_unknown_task_option_names_the_key(capsys, tmp_path):
    code = main(["convert", "gesture", "--root", str(tmp_path), "--split", "train", "--out", str(tmp_path / "o.json"),
                 "--option", "keep_no_gestures=false"])
    assert code == 2
    assert "unknown option(s) keep_no_gestures" in capsys.readouterr().err


def test_missing_root_is_a_clear_error(capsys, tmp_path):
    assert main(["convert", "gesture", "--root", str(tmp_path / "absent"), "--split", "train",
                 "--out", str(tmp_path / "o.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_train_help_lists_the_launcher_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:  # LLaVA's own parser prints its help and exits 0
        main(["train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "socialfusion train" in out and "--vision_tower" in out and "--mm_projector_lr" in out


def test_train_rejects_a_bad_attention_implementation(capsys):
    assert main(["train", "--attn_implementation", "magic", "--output_dir", "x"]) == 2
    assert "--attn_implementation must be one of" in capsys.readouterr().err


def test_launcher_reads_the_run_seed_without_consuming_it():
    from socialfusion_plugin.host.llava.training.launcher import LauncherArgumentError, training_seed

    argv = ["--output_dir", "x", "--seed", "7"]
    assert training_seed(argv) == 7 and argv == ["--output_dir", "x", "--seed", "7"]
    assert training_seed(["--seed=3"]) == 3
    assert training_seed([]) == 42  # transformers' default
    with pytest.raises(LauncherArgumentError, match="--seed must be an integer"):
        training_seed(["--seed", "many"])
