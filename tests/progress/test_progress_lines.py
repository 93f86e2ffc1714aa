"""Progress off a terminal: periodic plain lines with counts, rate and ETA on stderr; on a terminal
the tqdm bar as before; the interval comes from $SOCIALFUSION_PROGRESS_INTERVAL."""
from __future__ import annotations

import io
import json
import re

import pytest
from tqdm import tqdm

from socialfusion_plugin.errors import UserInputError
from socialfusion_plugin.progress import ProgressLines, format_duration, progress_bar, progress_line


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TerminalStream(io.StringIO):
    def isatty(self):
        return True


def test_lines_carry_counts_share_rate_and_eta_every_interval():
    clock, out = FakeClock(), io.StringIO()
    bar = ProgressLines(description="convert gesture/train", total=50000, unit=" records", stream=out,
                        interval=30, clock=clock)
    clock.now += 10
    bar.update(4000)  # before the interval: no line
    assert out.getvalue() == ""
    clock.now += 20
    bar.update(8000)  # 12000 records in 30 s: 400/s, 38000 left -> 95 s
    assert out.getvalue() == "convert gesture/train: 12000/50000 records (24%), 400/s, ETA 1m35s\n"
    clock.now += 29
    bar.update(100)
    assert out.getvalue().count("\n") == 1  # 29 s since the last line
    clock.now += 1
    bar.update(100)
    assert out.getvalue().splitlines()[-1] == "convert gesture/train: 12200/50000 records (24%), 203/s, ETA 3m06s"
    bar.close()
    bar.close()  # closing twice writes one closing line
    assert out.getvalue().splitlines()[-1] == "convert gesture/train: done, 12200 records in 1m00s (203/s)"
    assert out.getvalue().count("done") == 1


def test_no_total_gives_count_and_rate_only_and_short_steps_stay_silent():
    clock, out = FakeClock(), io.StringIO()
    with ProgressLines(description="gradients gesture", unit=" batches", stream=out, interval=5, clock=clock) as bar:
        clock.now += 6
        bar.update(3)
    assert out.getvalue().splitlines() == ["gradients gesture: 3 batches, 2.0s each",
                                           "gradients gesture: done, 3 batches in 6s (2.0s each)"]
    quiet = io.StringIO()
    with ProgressLines(description="short", total=3, stream=quiet, interval=30, clock=clock) as bar:
        bar.update(3)
    assert quiet.getvalue() == ""


def test_iterating_yields_every_item_and_counts_them():
    clock, out = FakeClock(), io.StringIO()

    def items():
        for value in range(5):
            clock.now += 1
            yield value

    bar = ProgressLines(items(), description="check records", total=5, stream=out, interval=2, clock=clock)
    assert list(bar) == [0, 1, 2, 3, 4]
    assert bar.n == 5 and bar.closed
    assert out.getvalue().splitlines() == ["check records: 2/5 items (40%), 1.0/s, ETA 3s",
                                           "check records: 4/5 items (80%), 1.0/s, ETA 1s",
                                           "check records: done, 5 items in 5s (1.0/s)"]


@pytest.mark.parametrize("seconds,text", [(0.4, "0s"), (45, "45s"), (93, "1m33s"), (3600, "1h00m"), (7530, "2h05m")])
def test_durations_read_like_a_clock(seconds, text):
    assert format_duration(seconds) == text


def test_progress_line_format():
    assert progress_line("eval rank", 64, 256, " samples", 8.0) == "eval rank: 64/256 samples (25%), 8.0/s, ETA 24s"


def test_off_a_terminal_progress_bar_prints_lines_on_stderr(monkeypatch, capsys):
    monkeypatch.setenv("SOCIALFUSION_PROGRESS_INTERVAL", "0")
    assert list(progress_bar(range(3), description="x")) == [0, 1, 2]  # 0: no lines
    monkeypatch.setenv("SOCIALFUSION_PROGRESS_INTERVAL", "0.000001")
    bar = progress_bar(enabled=True, total=4, description="mix -> out.json", unit=" records")
    assert isinstance(bar, ProgressLines)
    for _ in range(4):
        bar.update(1)
    bar.close()
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert re.fullmatch(r"mix -> out\.json: 1/4 records \(25%\), [0-9.]+(/s| ?s each), ETA \d+s", lines[0]), lines
    assert lines[3].startswith("mix -> out.json: 4/4 records (100%)")
    assert lines[-1].startswith("mix -> out.json: done, 4 records in ")
    progress_bar(enabled=False, total=4).update(4)  # --no-progress: nothing, whatever the stream
    assert capsys.readouterr().err == ""


def test_on_a_terminal_the_bar_stays_a_tqdm_bar(monkeypatch):
    monkeypatch.setenv("SOCIALFUSION_PROGRESS_INTERVAL", "0.000001")
    terminal = TerminalStream()
    monkeypatch.setattr("sys.stderr", terminal)
    bar = progress_bar(total=10, description="eval generate", unit=" samples")
    assert isinstance(bar, tqdm) and not bar.disable
    bar.update(10)
    bar.close()
    assert "eval generate: 100%" in terminal.getvalue() and "10/10" in terminal.getvalue()
    assert "\r" in terminal.getvalue()


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_interval_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("SOCIALFUSION_PROGRESS_INTERVAL", value)
    with pytest.raises(UserInputError, match="SOCIALFUSION_PROGRESS_INTERVAL"):
        progress_bar(range(2))


def test_a_cli_step_prints_lines_when_its_stderr_is_a_log(monkeypatch, capsys, tmp_path):
    """`mix` writing a recipe's records, its stderr captured as under nohup."""
    from socialfusion_plugin.cli.main import main
    from socialfusion_plugin.demo.synthetic_data import write_color_dataset

    data = write_color_dataset(tmp_path / "colors", count=6)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"seed: 0\nsources:\n  - json: {data}\n"
                      f"    image_folder: {data.parent / 'images'}\n", encoding="utf-8")
    monkeypatch.setenv("SOCIALFUSION_PROGRESS_INTERVAL", "0.000001")
    out = tmp_path / "mixed.json"
    assert main(["mix", str(recipe), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]) == 0
    err = capsys.readouterr().err
    assert "/6 records (" in err and "ETA" in err, err
    assert f"mix -> {out.name}: done, 6 records in " in err
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 6


def test_probe_prints_feature_and_fit_lines_when_its_stderr_is_a_log(tiny_assets, monkeypatch, capsys, tmp_path):
    from socialfusion_plugin import registry
    from socialfusion_plugin.cli.main import main
    from socialfusion_plugin.data_layout import DataLayout
    from socialfusion_plugin.demo.releases import write_all_releases
    from socialfusion_plugin.tasks.conversion import convert

    root = tmp_path / "data"
    release = write_all_releases(root)["gesture"]  # releases where the data layout puts them
    for split in ("train", "test"):
        convert(registry.TASKS.get("gesture"), root=release, split=split,
                out=DataLayout(root).converted("gesture", split), progress=False)
    monkeypatch.setenv("SOCIALFUSION_PROGRESS_INTERVAL", "0.000001")
    assert main(["probe", "--encoders", tiny_assets.vision_tower, "--tasks", "gesture", "--data-root", str(root),
                 "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--layers", "-1", "-2"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^features .*gesture.* train: \d+/\d+ images \(\d+%\), .*ETA", err, flags=re.M), err
    assert "probe fits: 1/2 probes (50%)" in err and "probe fits: done, 2 probes in " in err, err


def test_a_step_with_nothing_to_count_says_it_is_still_running():
    import threading

    from socialfusion_plugin.progress import still_running

    out, release = io.StringIO(), threading.Event()
    with still_running("merge", stream=out, interval=0.01) as beat:
        while beat.lines_written < 2:  # wait for two lines
            release.wait(0.01)
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"merge: running, \d+s so far", lines[0]), lines
    assert re.fullmatch(r"merge: done in \d+s", lines[-1]), lines
    quiet = io.StringIO()
    with still_running("merge", stream=quiet, interval=30):
        pass
    with still_running("merge", stream=quiet, interval=0.01, enabled=False):
        release.wait(0.05)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    with still_running("merge", stream=terminal, interval=0.01):
        release.wait(0.05)
    assert quiet.getvalue() == "" and terminal.getvalue() == ""
