"""`socialfusion demo --workdir`: a folder the demo did not create is refused untouched; in its own
folder the demo removes only its earlier runs and diagnostics, and says so."""
from pathlib import Path

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.demo.pipeline import TASK_NAMES

MARKER = ".socialfusion-demo"


def tree(root: Path):
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def test_a_users_non_empty_folder_is_refused_and_left_untouched(tmp_path, capsys):
    workdir = tmp_path / "work"
    (workdir / "runs" / "my-run").mkdir(parents=True)
    (workdir / "runs" / "my-run" / "adapter_model.bin").write_bytes(b"weights of a week of training")
    (workdir / "converted").mkdir()
    (workdir / "converted" / "gesture_train.json").write_text("[]\n")
    before = tree(workdir)
    assert main(["demo", "--workdir", str(workdir), "--no-transfer", "--no-diagnose"]) != 0
    err = capsys.readouterr().err
    assert f"--workdir {workdir.resolve()} is not empty and was not created by the demo (it has no {MARKER} file)" in err
    assert "Choose a new or empty folder" in err
    assert tree(workdir) == before


def test_a_file_is_refused(tmp_path):
    from socialfusion_plugin.demo.workdir import DemoWorkdirError, claim_workdir

    target = tmp_path / "file"
    target.write_text("mine")
    with pytest.raises(DemoWorkdirError, match="is a file, not a folder"):
        claim_workdir(target, TASK_NAMES)
    assert target.read_text() == "mine"


def test_new_and_empty_folders_become_the_demos(tmp_path):
    from socialfusion_plugin.demo.workdir import claim_workdir

    for workdir in (tmp_path / "new" / "deeper", tmp_path / "empty"):
        if workdir.name == "empty":
            workdir.mkdir()
        assert claim_workdir(workdir, TASK_NAMES) == workdir.resolve()
        assert (workdir / MARKER).is_file()


def test_in_its_own_folder_the_demo_removes_only_its_earlier_outputs_and_says_which(tmp_path):
    from socialfusion_plugin.demo.workdir import claim_workdir

    workdir = tmp_path / "demo"
    claim_workdir(workdir, TASK_NAMES)
    own = [workdir / "runs" / "llava-tiny-socialfusion-lora" / "checkpoint-3" / "adapter_model.bin",
           workdir / "runs" / "llava-tiny-gesture-lora" / "adapter_model.bin",
           workdir / "diagnose" / "probe" / "probe_results.json"]
    kept = [workdir / "runs" / "user-adapter" / "adapter_model.bin", workdir / "models" / "tiny-llama" / "config.json",
            workdir / "converted" / "gesture_test.json", workdir / "notes.txt"]
    for path in own + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    lines = []
    claim_workdir(workdir, TASK_NAMES, echo=lines.append)
    assert lines == [f"      reusing the demo's own folder {workdir.resolve()} ({MARKER} is there); removing its earlier "
                     "outputs: runs/llava-tiny-socialfusion-lora, runs/llava-tiny-gesture-lora, diagnose/probe"]
    assert not any(path.exists() for path in own)
    assert all(path.read_text() == "x" for path in kept)
