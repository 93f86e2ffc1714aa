"""The demo's training progress on the console: a fixed number of lines per run, read from the
trainer's per-step log lines, the last one at the last step; other output is ignored."""
from socialfusion_plugin.demo.pipeline import TrainingProgress, untrained_command


def test_progress_lines_are_bounded_and_end_at_the_last_step():
    lines = []
    progress = TrainingProgress(300, lines.append, "", lines=10)
    for step in range(300):
        progress.feed("  5%|▌   | 15/300 [00:03<01:00,  4.7it/s]")  # a bar frame: not a step
        progress.feed(f"{{'loss': {3 - step / 100:.4f}, 'learning_rate': 0.003, 'epoch': 1.0}}")
    assert len(lines) == 10
    assert lines[0].split()[:4] == ["step", "30/300", "loss", "2.710"]
    assert lines[-1].split()[:2] == ["step", "300/300"] and "about 0 s left" in lines[-1]


def test_the_untrained_run_is_the_same_run_stopped_after_one_step_at_learning_rate_zero(tmp_path):
    command = ["python", "-m", "socialfusion_plugin.train", "--learning_rate", "0.003", "--mm_projector_lr", "0.003",
               "--max_steps", "300", "--save_steps", "150", "--seed", "0", "--output_dir", str(tmp_path / "joint"),
               "--deepspeed", "zero2.json"]
    untrained = untrained_command(command, tmp_path / "untrained")
    assert untrained == ["python", "-m", "socialfusion_plugin.train", "--learning_rate", "0", "--mm_projector_lr", "0",
                         "--max_steps", "1", "--save_steps", "1", "--seed", "0", "--output_dir",
                         str(tmp_path / "untrained")]
    assert command[-2:] == ["--deepspeed", "zero2.json"]  # the joint run's command is left as it was
