"""Faults of the machine, made for real (fault_mounts.py), come out of every command as one line that
names the path or flag and the cause, exit 2, never a traceback: a full disk, a read-only or
unwritable output, a file over `ulimit -f`. Outputs are checked before the work starts, so a command
refused for a read-only output has converted, cached and written nothing."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fault_mounts import file_size_limit, full_disk, read_only_folder
from socialfusion_plugin.cli import main as cli_main
from socialfusion_plugin.cli import tasks_cmd

RECIPES = Path(__file__).resolve().parents[1] / "data_recipes"


@pytest.fixture
def cli(capsys):
    """Run a command in this process: (exit code, stdout, stderr)."""
    def run(*argv):
        capsys.readouterr()
        code = cli_main.main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def cli_process(*argv, preexec_fn=None):
    """The console script in its own process (a file size limit must not reach pytest itself)."""
    result = subprocess.run([sys.executable, "-m", "socialfusion_plugin.cli.main", *map(str, argv)],
                            capture_output=True, text=True, timeout=300, preexec_fn=preexec_fn)
    return result.returncode, result.stdout, result.stderr


def assert_one_line(err: str, command: str, *fragments: str) -> None:
    assert err.startswith(f"socialfusion {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def references_and_predictions(folder: Path):
    references = folder / "r.json"
    references.write_text(json.dumps([{"id": "a", "conversations": [], "meta": {"task": "gesture", "label": "like"}}]))
    predictions = folder / "p.jsonl"
    predictions.write_text('{"id": "a", "text": "like"}\n')
    return references, predictions


# -- disk full ----------------------------------------------------------------------------------------

def test_convert_onto_a_full_disk_names_the_output_and_the_disk(cli, data_env, tmp_path):
    with full_disk(tmp_path / "disk") as disk:
        out = disk / "converted" / "gesture_test.json"
        code, _, err = cli("convert", "gesture", "--split", "test", "--out", out, "--no-progress", "--workers", "1")
        assert code == 2
        assert_one_line(err, "convert", f"{out}: no space left on the device",
                        f"free on the disk mounted at {disk}", "free some space or write elsewhere")
        assert not out.exists() and not list(out.parent.glob("*.partial"))  # nothing half-written is left


def test_mix_with_its_cache_on_a_full_disk(cli, data_env, tmp_path):
    with full_disk(tmp_path / "disk") as disk:
        out = tmp_path / "m.json"
        code, _, err = cli("mix", RECIPES / "social5_general.yaml", "--out", out, "--cache-dir", disk / "cache",
                           "--no-progress", "--workers", "1")
        assert code == 2
        assert_one_line(err, "mix", f"{disk / 'cache'}", "no space left on the device",
                        f"free on the disk mounted at {disk}")
        assert not out.exists()


def test_score_onto_a_full_disk(cli, tmp_path):
    references, predictions = references_and_predictions(tmp_path)
    with full_disk(tmp_path / "disk") as disk:
        code, stdout, err = cli("score", "gesture", "--predictions", predictions, "--references", references,
                                "--out", disk / "m.json")
        assert code == 2
        assert_one_line(err.splitlines()[-1] + "\n", "score", f"{disk / 'm.json'}: no space left on the device")


def test_a_write_past_ulimit_f_is_one_line_naming_the_file(data_env, tmp_path):
    # no root needed: the process's file size limit (Python ignores SIGXFSZ, so the write fails: EFBIG)
    out = tmp_path / "gesture_test.json"
    code, _, err = cli_process("convert", "gesture", "--split", "test", "--out", out, "--no-progress", "--workers",
                               "1", preexec_fn=file_size_limit(64))
    assert code == 2 and "Traceback" not in err, err
    assert_one_line(err.strip().splitlines()[-1] + "\n", "convert", f"{out}: file too large", "ulimit -f")
    assert not out.exists()


def test_a_full_disk_anywhere_in_a_command_is_one_line(monkeypatch, capsys, tmp_path):
    # a write whose error names no file (the write, then the close, fail: two chained ENOSPC): the line
    # names what the command was writing
    with full_disk(tmp_path / "disk") as disk:
        def run(args):
            with open(disk / "x.json", "w") as handle:
                handle.write("x" * 100_000)

        monkeypatch.setattr(tasks_cmd, "run", run)
        assert cli_main.main(["tasks"]) == 2
    assert_one_line(capsys.readouterr().err, "tasks", "writing an output: no space left on the device")


# -- read-only and unwritable outputs: refused before any work --------------------------------------

def test_convert_into_a_read_only_folder_is_refused_before_converting(cli, data_env, tmp_path):
    with read_only_folder(tmp_path / "ro") as folder:
        out = folder / "converted" / "gesture_test.json"
        code, stdout, err = cli("convert", "gesture", "--split", "test", "--out", out, "--no-progress")
        assert code == 2
        assert_one_line(err, "convert", f"--out {out} cannot be created: {folder} is not writable")
        assert stdout == ""  # refused before reading the release: no summary printed


def test_convert_report_into_a_read_only_folder_is_refused(cli, data_env, tmp_path):
    with read_only_folder(tmp_path / "ro") as folder:
        out = tmp_path / "out.json"
        code, _, err = cli("convert", "gesture", "--split", "test", "--out", out, "--report", folder / "r.json")
        assert code == 2
        assert_one_line(err, "convert", f"--report {folder / 'r.json'} cannot be created")
        assert not out.exists()


def test_a_read_only_file_system_says_so(cli, data_env, tmp_path):
    from fault_mounts import can_mount

    if not can_mount():
        pytest.skip("a read-only file system needs root to mount")
    with read_only_folder(tmp_path / "ro") as folder:
        code, _, err = cli("convert", "gesture", "--split", "test", "--out", folder / "o.json")
        assert code == 2 and "(read-only file system)" in err, err


def test_mix_with_a_read_only_cache_dir_is_refused_before_converting(cli, data_env, tmp_path):
    with read_only_folder(tmp_path / "ro") as folder:
        out = tmp_path / "m.json"
        code, stdout, err = cli("mix", RECIPES / "social5_general.yaml", "--out", out, "--cache-dir", folder / "cache",
                                "--no-progress", "--workers", "1")
        assert code == 2
        assert_one_line(err, "mix", f"--cache-dir {folder / 'cache'} cannot be created: {folder} is not writable")
        assert not out.exists() and stdout == ""


def test_mix_into_a_read_only_folder_is_refused(cli, data_env, tmp_path):
    with read_only_folder(tmp_path / "ro") as folder:
        code, _, err = cli("mix", RECIPES / "social5_general.yaml", "--out", folder / "m.json", "--no-progress")
        assert code == 2
        assert_one_line(err, "mix", f"--out {folder / 'm.json'} cannot be created")
    assert not (tmp_path / "cache").exists()  # data_env's cache: nothing was converted


def test_score_into_a_read_only_folder_is_refused(cli, tmp_path):
    references, predictions = references_and_predictions(tmp_path)
    with read_only_folder(tmp_path / "ro") as folder:
        code, stdout, err = cli("score", "gesture", "--predictions", predictions, "--references", references,
                                "--out", folder / "m.json")
        assert code == 2 and stdout == ""
        assert_one_line(err, "score", f"--out {folder / 'm.json'} cannot be created")


def test_an_output_path_that_is_a_folder_is_refused_up_front(cli, data_env, tmp_path):
    (tmp_path / "out.json").mkdir()
    code, stdout, err = cli("convert", "gesture", "--split", "test", "--out", tmp_path / "out.json")
    assert code == 2 and stdout == ""
    assert_one_line(err, "convert", f"--out {tmp_path / 'out.json'} is a folder; give a file path")


def test_a_bug_still_keeps_its_traceback(monkeypatch):
    # only machine faults are turned into a line: an OSError of another kind is not one
    def run(args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(tasks_cmd, "run", run)
    with pytest.raises(OSError):
        cli_main.main(["tasks"])
