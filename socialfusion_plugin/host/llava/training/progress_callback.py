"""Training progress lines for logs: the trainer's tqdm bar is for terminals.

Under SLURM or nohup (stderr is not a terminal) the main process prints, on stderr, one line after
the first step, then one every `$SOCIALFUSION_PROGRESS_INTERVAL` seconds (see progress.py; 0 turns
them off), and one at the last step:

    socialfusion train: step 120/1000 (12%), loss 1.2345, 0.85 steps/s, ETA 17m15s

The prefix is the one the launcher's other messages carry, so a wrapper that shows the launcher's
messages (the demo) shows these too. On a terminal nothing changes: the trainer's bar is there. Off
a terminal the bar is replaced by the trainer's plain printer of the logged values: a bar's carriage
returns would glue these lines to its last frame in the log.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO

from transformers import PrinterCallback, ProgressCallback, TrainerCallback

from socialfusion_plugin.progress import format_duration, is_terminal, line_interval

PREFIX = "socialfusion train:"


def training_progress_line(step: int, max_steps: int, loss: Optional[float], steps_done: int, elapsed: float) -> str:
    """`steps_done`/`elapsed`: steps run by this process and their time (a resumed run's rate and
    ETA come from its own steps, not from the steps the checkpoint already had)."""
    parts = [f"step {step}/{max_steps}" + (f" ({100 * step / max_steps:.0f}%)" if max_steps else "")]
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    rate = steps_done / elapsed if elapsed > 0 else 0.0
    if rate >= 1:
        parts.append(f"{rate:.2f} steps/s")
    elif rate > 0:
        parts.append(f"{1 / rate:.1f}s/step")
    if max_steps and rate > 0:
        parts.append(f"ETA {format_duration(max(0, max_steps - step) / rate)}" if step < max_steps
                     else f"done in {format_duration(elapsed)}")
    return f"{PREFIX} " + ", ".join(parts)


def add_training_progress(trainer) -> None:
    """Wire progress lines into a transformers Trainer (the bar stays on a terminal)."""
    lines = TrainingProgressLines()
    trainer.add_callback(lines)
    if lines.interval > 0 and not is_terminal(sys.stderr):
        replaced = trainer.pop_callback(ProgressCallback)
        if replaced is not None:  # the values it printed under the bar are still printed
            trainer.add_callback(PrinterCallback)


class TrainingProgressLines(TrainerCallback):
    def __init__(self, stream: Optional[TextIO] = None, interval: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.interval = line_interval() if interval is None else interval
        self.clock = clock
        self.loss: Optional[float] = None
        self._start_step = 0
        self._started = self._last_line = self._pending = None

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def _active(self, state) -> bool:
        return self.interval > 0 and state.is_world_process_zero and not is_terminal(self._out())

    def on_train_begin(self, args, state, control, **kwargs):
        self._start_step = state.global_step
        self._started = self._last_line = self.clock()
        self.loss = self._pending = None

    def on_step_end(self, args, state, control, **kwargs):
        if self._started is None or not self._active(state):
            return
        now = self.clock()
        steps_done = state.global_step - self._start_step
        last = state.max_steps and state.global_step >= state.max_steps
        if steps_done == 1 or last or now - self._last_line >= self.interval:
            self._last_line = now
            self._pending = (state.global_step, state.max_steps, steps_done, now - self._started)
            if not control.should_log:  # set by the trainer's flow callback, which runs first
                self._write_pending()

    def on_log(self, args, state, control, logs=None, **kwargs):
        # the trainer logs this step's loss after on_step_end: a due line waits for it
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])
        self._write_pending()

    def on_train_end(self, args, state, control, **kwargs):
        self._write_pending()

    def _write_pending(self) -> None:
        if self._pending is None:
            return
        step, max_steps, steps_done, elapsed = self._pending
        self._pending = None
        out = self._out()
        out.write(training_progress_line(step, max_steps, self.loss, steps_done, elapsed) + "\n")
        out.flush()
