"""Training progress lines off a terminal: step/total, loss, rate and ETA, from the callback the
plugin's trainer adds; the demo's console shows them (they carry the launcher's prefix)."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest
from transformers import TrainerControl, TrainerState

from socialfusion_plugin.host.llava.training.progress_callback import TrainingProgressLines, training_progress_line


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _step(callback, state, control, clock, seconds, loss=None, log=True):
    clock.now += seconds
    state.global_step += 1
    control.should_log = log
    callback.on_step_end(None, state, control)
    if log:
        callback.on_log(None, state, control, logs={"loss": loss})


def test_lines_after_the_first_step_every_interval_and_at_the_last_step():
    clock, out = FakeClock(), io.StringIO()
    callback = TrainingProgressLines(stream=out, interval=60, clock=clock)
    state, control = TrainerState(max_steps=100, global_step=0), TrainerControl()
    callback.on_train_begin(None, state, control)
    _step(callback, state, control, clock, 2.0, loss=2.5)
    for _ in range(98):
        _step(callback, state, control, clock, 1.0, loss=1.25)
    _step(callback, state, control, clock, 1.0, loss=0.5)
    assert out.getvalue().splitlines() == [
        "socialfusion train: step 1/100 (1%), loss 2.5000, 2.0s/step, ETA 3m18s",
        "socialfusion train: step 61/100 (61%), loss 1.2500, 1.0s/step, ETA 40s",  # 60 s after the first line
        "socialfusion train: step 100/100 (100%), loss 0.5000, 1.0s/step, done in 1m41s",
    ]


def test_a_due_line_without_a_log_this_step_shows_the_last_loss_and_resumed_runs_time_their_own_steps():
    clock, out = FakeClock(), io.StringIO()
    callback = TrainingProgressLines(stream=out, interval=1000, clock=clock)
    state, control = TrainerState(max_steps=50, global_step=40), TrainerControl()
    callback.on_log(None, state, control, logs={"loss": 9.0})  # before training: not shown
    callback.on_train_begin(None, state, control)
    _step(callback, state, control, clock, 4.0, log=False)
    assert out.getvalue() == "socialfusion train: step 41/50 (82%), 4.0s/step, ETA 36s\n"
    callback.on_log(None, state, control, logs={"loss": 3.0})
    _step(callback, state, control, clock, 0.25, log=False)  # not due
    assert out.getvalue().count("\n") == 1


def test_nothing_on_a_terminal_on_other_ranks_or_with_interval_zero():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, interval, rank_zero in ((Terminal(), 10, True), (io.StringIO(), 10, False), (io.StringIO(), 0, True)):
        clock = FakeClock()
        callback = TrainingProgressLines(stream=stream, interval=interval, clock=clock)
        state, control = TrainerState(max_steps=2, global_step=0, is_world_process_zero=rank_zero), TrainerControl()
        callback.on_train_begin(None, state, control)
        _step(callback, state, control, clock, 1.0, loss=1.0)
        _step(callback, state, control, clock, 1.0, loss=1.0)
        callback.on_train_end(None, state, control)
        assert stream.getvalue() == ""


def test_fast_steps_show_steps_per_second():
    assert training_progress_line(30, 120, 0.123456, 30, 10.0) == \
        "socialfusion train: step 30/120 (25%), loss 0.1235, 3.00 steps/s, ETA 30s"


@pytest.mark.slow
def test_a_training_run_writing_to_a_log_prints_progress_lines(tiny_assets, color_data, tmp_path):
    from socialfusion_plugin.demo.pipeline import SHOWN_PREFIXES, train_command

    command = train_command(tiny_assets.llm_dir, tiny_assets.vision_tower,
                            ["--data_path", str(color_data), "--image_folder", str(color_data.parent / "images")],
                            tmp_path / "run", steps=3, seed=0, learning_rate=1e-3, deepspeed=None, save_steps=3)
    env = dict(os.environ, PYTHONUNBUFFERED="1", SOCIALFUSION_PROGRESS_INTERVAL="0.000001")
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("socialfusion train: step")]
    assert len(lines) == 3, result.stderr[-3000:]
    number = r"[0-9]+\.[0-9]+"
    assert re.fullmatch(rf"socialfusion train: step 1/3 \(33%\), loss {number}, {number}(s/step| steps/s), ETA \d+s",
                        lines[0]), lines
    assert re.fullmatch(rf"socialfusion train: step 3/3 \(100%\), loss {number}, .*, done in \d+s", lines[-1]), lines
    assert all(line.strip().startswith(SHOWN_PREFIXES) for line in lines)  # the demo's console shows them
    assert "3/3 [" not in result.stderr  # no bar frames in the log
    assert result.stdout.count("{'loss': ") == 3  # the logged values are still printed
