import pytest

from socialfusion_plugin.demo.pipeline import DemoConfig, run_demo

pytestmark = pytest.mark.slow


def test_demo_trains_saves_reloads_and_generates(tmp_path):
    lines = []
    result = run_demo(DemoConfig(workdir=tmp_path / "demo", steps=12, deepspeed=None), echo=lines.append)
    assert len(result.losses) == 12 and result.losses[-1] < result.losses[0]
    assert (result.run_dir / "non_lora_trainables.bin").is_file()
    assert (result.run_dir / "checkpoint-6" / "non_lora_trainables.bin").is_file()
    assert [a["id"] for a in result.answers] == ["color-000", "color-001", "color-002", "color-003"]
    assert all(isinstance(a["answer"], str) for a in result.answers)
    assert len(result.checkpoint_answers) == 1
    text = "\n".join(lines)
    assert "vision tower                            0 trainable" in text
    assert "[5/5] greedy answers of the final model:" in text


def test_demo_config_checks_itself(tmp_path):
    with pytest.raises(ValueError, match="at least 2 training steps"):
        DemoConfig(workdir=tmp_path, steps=1)
