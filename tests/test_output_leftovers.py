"""What runs leave behind: a killed writer's scratch file is removed by the next run into the same
output (which says so) and never a live writer's; the one-writer lock refuses a second run, and no
run, finished, failed or refused, leaves a `.lock` file or an info file without predictions."""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from socialfusion_plugin.atomic_files import atomic_write_text, remove_abandoned_partials, sole_writer

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def holder(script: str):
    """A process that runs `script`, prints 'ready' and waits for its stdin to close."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script) + "\nprint('ready', flush=True)\n"
                                "sys.stdin.read()\n"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_a_dead_runs_scratch_file_is_removed_by_the_next_write_which_says_so(tmp_path, capsys):
    out = tmp_path / "data.json"
    pid = dead_pid()
    abandoned = tmp_path / f"data.json.{pid}.0123abcd.partial"
    abandoned.write_text("[half a file")
    other_output = tmp_path / f"other.json.{pid}.0123abcd.partial"  # another output's: not this run's business
    other_output.write_text("[")
    live = tmp_path / f"data.json.{os.getppid()}.89abcdef.partial"  # its process is alive
    live.write_text("[")
    atomic_write_text(out, "[]\n")
    assert out.read_text() == "[]\n"
    assert not abandoned.exists() and other_output.exists() and live.exists()
    assert capsys.readouterr().err == (f"note: removed {abandoned}, the temporary file of an earlier run into {out} "
                                       f"that was killed before it finished (process {pid})\n")


def test_a_scratch_file_held_by_a_live_writer_is_kept_even_if_its_pid_looks_dead(tmp_path):
    """Another machine or pid namespace sharing the folder: the pid means nothing here, the lock does."""
    out = tmp_path / "data.json"
    scratch = tmp_path / f"data.json.{dead_pid()}.0123abcd.partial"
    scratch.write_text("[")
    writer = holder(f"""
        import fcntl, sys
        handle = open({str(scratch)!r}, "rb")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    """)
    try:
        assert remove_abandoned_partials(out) == [] and scratch.exists()
    finally:
        writer.communicate("", timeout=60)
    assert remove_abandoned_partials(out) == [scratch] and not scratch.exists()


def test_a_second_writer_is_refused_and_the_lock_file_goes_with_the_first(tmp_path):
    out = tmp_path / "new" / "deeper" / "mix.json"

    def busy(lock):
        return RuntimeError(f"busy: {lock}")

    with sole_writer(out, busy):
        assert Path(str(out) + ".lock").exists()
        with pytest.raises(RuntimeError, match=f"busy: {out}.lock"):
            with sole_writer(out, busy):
                pass
    assert not (tmp_path / "new").exists()  # the folders made for the lock, left empty, are gone too
    with pytest.raises(ValueError):
        with sole_writer(out, busy):
            out.write_text("kept")
            raise ValueError("the run failed")
    assert sorted(os.listdir(out.parent)) == ["mix.json"]  # a failed run leaves no .lock


def test_a_lock_file_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    out = tmp_path / "preds.jsonl"
    killed = holder(f"""
        import sys
        from socialfusion_plugin.atomic_files import sole_writer
        held = sole_writer(__import__("pathlib").Path({str(out)!r}), RuntimeError)
        held.__enter__()
    """)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert Path(str(out) + ".lock").exists()  # nothing ran to remove it
    with sole_writer(out, RuntimeError):
        pass
    assert not Path(str(out) + ".lock").exists()


def test_an_eval_refused_or_failed_before_its_first_prediction_leaves_nothing(tmp_path):
    from socialfusion_plugin.evaluation.prediction_file import EvalOutputError, claim_output, exclusive_output
    from socialfusion_plugin.evaluation.prediction_file import append_predictions

    out = tmp_path / "eval" / "gesture.preds.jsonl"
    info = {"provenance": {"model": "a"}}
    with pytest.raises(RuntimeError, match="model failed to load"):
        with exclusive_output(out):
            claim_output(out, info)
            append_predictions(out, [])  # the file is opened for appending, nothing written yet
            raise RuntimeError("model failed to load")
    assert not (tmp_path / "eval").exists()  # no gesture.eval.json, no empty predictions, no lock, no folder

    with exclusive_output(out):
        claim_output(out, info)
        append_predictions(out, [{"id": "1", "text": "like"}])
    assert sorted(os.listdir(out.parent)) == ["gesture.eval.json", "gesture.preds.jsonl"]  # no .lock
    recorded = (out.parent / "gesture.eval.json").read_text()
    with pytest.raises(EvalOutputError, match="made by a different evaluation"):
        with exclusive_output(out):
            claim_output(out, {"provenance": {"model": "b"}})
    assert sorted(os.listdir(out.parent)) == ["gesture.eval.json", "gesture.preds.jsonl"]
    assert (out.parent / "gesture.eval.json").read_text() == recorded  # the refused run changed nothing


def test_a_second_mix_into_one_output_is_refused(tmp_path, capsys):
    from socialfusion_plugin.cli.main import main

    out = tmp_path / "mixed.json"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("not: read\n")  # refused before the recipe is read
    with sole_writer(out, RuntimeError):  # what a running `mix --out mixed.json` (or `eval`) holds
        assert main(["mix", str(recipe), "--out", str(out), "--no-progress", "--workers", "1"]) == 2
    assert capsys.readouterr().err == (f"socialfusion mix: error: {out}: another process is writing this mixture "
                                       f"(it holds {out}.lock); wait for it to finish, or write to another --out\n")
    assert sorted(os.listdir(tmp_path)) == ["recipe.yaml"]


def test_a_waiting_writer_goes_on_when_the_holder_is_done(tmp_path):
    """busy=None (processes building one shared cache entry): the second waits instead of failing,
    and the lock file still goes with the last of them."""
    out = tmp_path / "entry"
    first = holder(f"""
        import sys
        from socialfusion_plugin.atomic_files import sole_writer
        held = sole_writer(__import__("pathlib").Path({str(out)!r}), None)
        held.__enter__()
    """)
    waiter = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from pathlib import Path
        from socialfusion_plugin.atomic_files import sole_writer
        with sole_writer(Path({str(out)!r}), None):
            print("got it", flush=True)
    """)], stdout=subprocess.PIPE, text=True)
    with pytest.raises(subprocess.TimeoutExpired):
        waiter.wait(timeout=2)  # still waiting: the first holds the lock
    first.communicate("", timeout=60)
    assert waiter.communicate(timeout=60)[0] == "got it\n"
    assert not Path(str(out) + ".lock").exists()
