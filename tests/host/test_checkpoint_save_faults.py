"""A checkpoint that cannot be saved, and a resume that cannot fit the model, stop the run with one
line naming the folder and the cause; the same command then resumes from the last complete checkpoint.

The fast tests make the fault for real (torch writing onto a full tmpfs says only `unexpected pos` or
`file write failed`) and pass it through the trainer's wrappers; the slow ones run the training command
on a disk that fills up at checkpoint-4, then on the same disk made larger."""
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from fault_mounts import fill, full_disk, small_disk
from socialfusion_plugin.host.llava.training.resume import (CheckpointSaveError, ResumeError, check_lora_settings,
                                             checkpoint_save_faults, mismatched_sizes_named)
from tiny_lora_run import tiny_lora_args


def test_torch_failing_on_a_full_disk_names_the_folder_the_disk_and_the_checkpoint_to_resume_from(tmp_path):
    with full_disk(tmp_path / "disk") as disk:
        run = disk / "run"
        (run / "checkpoint-2").mkdir(parents=True)
        (run / "tmp-checkpoint-4").mkdir()
        with pytest.raises(CheckpointSaveError) as raised:
            with checkpoint_save_faults(str(run), 4):
                torch.save({"w": torch.zeros(4096)}, run / "tmp-checkpoint-4" / "optimizer.pt")
        message = str(raised.value)
        assert message.startswith(f"saving checkpoint-4 into {run} failed: ")
        assert f"free on the disk mounted at {disk}" in message, message
        assert f"the unfinished {run / 'tmp-checkpoint-4'} was removed" in message
        assert message.endswith(f"rerun the same command to resume from {run / 'checkpoint-2'}")
        assert "\n" not in message
        assert not (run / "tmp-checkpoint-4").exists() and (run / "checkpoint-2").is_dir()


def test_an_oserror_of_the_disk_names_the_file(tmp_path):
    with full_disk(tmp_path / "disk") as disk:
        run = disk / "run"
        (run / "tmp-checkpoint-2").mkdir(parents=True)
        with pytest.raises(CheckpointSaveError) as raised:
            with checkpoint_save_faults(str(run), 2):
                (run / "tmp-checkpoint-2" / "trainer_state.json").write_text("x" * 10_000)
        message = str(raised.value)
        # a plain write names no file: the folder's disk is named instead
        assert message.startswith(f"saving checkpoint-2 into {run} failed: writing its files: no space left on the "
                                  f"device ("), message
        assert f"free on the disk mounted at {disk})" in message
        assert message.endswith("no checkpoint is complete yet: once fixed, rerunning the same command starts afresh")


def test_a_checkpoint_rewritten_in_place_is_not_removed(tmp_path):
    with small_disk(tmp_path / "disk", 1 << 20) as disk:
        final = disk / "run" / "checkpoint-2"
        final.mkdir(parents=True)
        (final / "trainer_state.json").write_text("{}")  # non-empty: transformers writes into it in place
        fill(disk)
        with pytest.raises(CheckpointSaveError, match="was being rewritten in place and may be incomplete"):
            with checkpoint_save_faults(str(disk / "run"), 2):
                torch.save({"w": torch.zeros(4096)}, final / "optimizer.pt")
        assert (final / "trainer_state.json").is_file()


def test_a_bug_while_saving_keeps_its_traceback(tmp_path):
    with pytest.raises(KeyError):
        with checkpoint_save_faults(str(tmp_path), 2):
            raise KeyError("model.layers.0")


@pytest.mark.parametrize("saved, current, expected", [
    ({"r": 8, "lora_alpha": 16}, (4, 16), "--lora_r 8 (this run: 4)"),
    ({"r": 8, "lora_alpha": 16}, (8, 32), "--lora_alpha 16 (this run: 32)"),
    ({"r": 8, "lora_alpha": 16}, (8, 16), None),
])
def test_resuming_with_another_lora_rank_or_alpha_is_refused(tmp_path, saved, current, expected):
    (tmp_path / "adapter_config.json").write_text(json.dumps(saved))
    model = SimpleNamespace(peft_config={"default": SimpleNamespace(r=current[0], lora_alpha=current[1])})
    if expected is None:
        check_lora_settings(model, str(tmp_path))
        return
    with pytest.raises(ResumeError) as raised:
        check_lora_settings(model, str(tmp_path))
    assert str(raised.value).startswith(f"{tmp_path} was trained with {expected}: rerun with the arguments")


def test_a_size_mismatch_is_one_line_naming_the_checkpoint():
    model = torch.nn.Linear(4, 8)
    with pytest.raises(ResumeError) as raised:
        with mismatched_sizes_named("/runs/a/checkpoint-2"):
            model.load_state_dict({"weight": torch.zeros(16, 4), "bias": torch.zeros(16)}, strict=False)
    message = str(raised.value)
    assert message.startswith("/runs/a/checkpoint-2 does not fit the model this command builds (size mismatch for ")
    assert "2 tensors differ" in message and "\n" not in message


def test_the_training_entry_prints_a_save_failure_as_one_line(monkeypatch, capsys):
    import socialfusion_plugin.train as train_entry

    def failing_train(argv):
        raise CheckpointSaveError("saving checkpoint-4 into /r failed: ...")

    monkeypatch.setattr(train_entry, "check_train_arguments", lambda argv, host: None)
    monkeypatch.setattr(train_entry, "active_host", lambda: SimpleNamespace(train=failing_train))
    assert train_entry.run(["--output_dir", "/r"]) == 2
    assert capsys.readouterr().err == "socialfusion train: error: saving checkpoint-4 into /r failed: ...\n"


# -- end to end: the training command on a disk that fills up ---------------------------------------

def train(args, cwd):
    result = subprocess.run([sys.executable, "-m", "socialfusion_plugin.train", *args], cwd=cwd, capture_output=True,
                            text=True, timeout=600, env={**__import__("os").environ, "PYTHONUNBUFFERED": "1"})
    return result.returncode, result.stdout, result.stderr


def run_args(tiny_assets, data, output_dir, extra=()):
    return tiny_lora_args(tiny_assets, data, output_dir, ("--seed", "3", "--max_steps", "4", "--bf16", "False"),
                          save_steps=2, extra=extra)


@pytest.fixture(scope="module")
def eight_images(tmp_path_factory):
    from socialfusion_plugin.demo.synthetic_data import write_color_dataset

    return write_color_dataset(tmp_path_factory.mktemp("fault-data"), count=16, seed=0)


@pytest.mark.slow
def test_a_disk_that_fills_up_at_a_checkpoint_stops_the_run_and_the_same_command_resumes(tiny_assets, eight_images,
                                                                                        tmp_path):
    # a tiny run's checkpoint is ~0.65 MB: a 1 MiB disk holds checkpoint-2 and fills up during checkpoint-4
    disk = tmp_path / "disk"
    with small_disk(disk, 1 << 20):
        output_dir = disk / "run"
        args = run_args(tiny_assets, eight_images, output_dir)
        code, stdout, stderr = train(args, tmp_path)
        assert code == 2, stdout[-2000:] + stderr[-4000:]
        assert "Traceback" not in stderr, stderr[-4000:]
        line = stderr.strip().splitlines()[-1]
        assert line.startswith(f"socialfusion train: error: saving checkpoint-4 into {output_dir} failed: "), line
        assert f"disk mounted at {disk}" in line, line
        assert line.endswith(f"rerun the same command to resume from {output_dir / 'checkpoint-2'}"), line
        assert sorted(p.name for p in output_dir.iterdir() if "checkpoint" in p.name) == ["checkpoint-2"]

        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)  # space freed
        code, stdout, stderr = train(args, tmp_path)
        assert code == 0, stdout[-2000:] + stderr[-4000:]
        assert f"resuming from {output_dir / 'checkpoint-2'}" in stdout
        assert (output_dir / "checkpoint-4" / "non_lora_trainables.safetensors").is_file()
        assert (output_dir / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_resuming_with_another_lora_rank_stops_with_a_plain_error(tiny_assets, eight_images, tmp_path):
    output_dir = tmp_path / "run"
    args = tiny_lora_args(tiny_assets, eight_images, output_dir, ("--seed", "3", "--max_steps", "2", "--bf16", "False"),
                          save_steps=2)
    code, stdout, stderr = train(args, tmp_path)
    assert code == 0, stderr[-4000:]
    changed = [("16" if item == "8" and args[index - 1] == "--lora_r" else item) for index, item in enumerate(args)]
    changed[changed.index("--max_steps") + 1] = "4"
    code, stdout, stderr = train(changed, tmp_path)
    assert code == 2, stdout[-2000:] + stderr[-4000:]
    assert "Traceback" not in stderr and "size mismatch" not in stderr, stderr[-4000:]
    assert stderr.strip().splitlines()[-1] == (
        f"socialfusion train: error: {output_dir / 'checkpoint-2'} was trained with --lora_r 8 (this run: 16): rerun "
        "with the arguments the run started with to resume it, or give another --output_dir to start a new run")


@pytest.mark.slow
def test_a_hostile_pretrain_adapter_is_refused_in_one_line(tiny_assets, eight_images, tmp_path):
    from malicious_pickles import CreatesMarker

    marker = tmp_path / "pickle-code-ran"
    adapter = tmp_path / "mm_projector.bin"
    torch.save({"model.mm_projector.0.weight": CreatesMarker(marker)}, adapter)
    args = run_args(tiny_assets, eight_images, tmp_path / "run", extra=("--pretrain_mm_mlp_adapter", str(adapter)))
    code, stdout, stderr = train(args, tmp_path)
    assert code == 2, stdout[-2000:] + stderr[-4000:]
    assert "Traceback" not in stderr, stderr[-4000:]
    assert stderr.strip().splitlines()[-1].startswith(f"socialfusion train: error: {adapter}: refused to load it")
    assert not marker.exists()


@pytest.mark.slow
def test_a_disk_that_fills_up_at_the_final_save_is_one_line(tiny_assets, eight_images, tmp_path):
    # no checkpoint (save_steps beyond the run); the final adapter and connector (~0.15 MB) do not fit 64 KiB
    with small_disk(tmp_path / "disk", 64 << 10) as disk:
        output_dir = disk / "run"
        args = tiny_lora_args(tiny_assets, eight_images, output_dir,
                              ("--seed", "3", "--max_steps", "2", "--bf16", "False"), save_steps=100)
        code, stdout, stderr = train(args, tmp_path)
        assert code == 2, stdout[-2000:] + stderr[-4000:]
        assert "Traceback" not in stderr, stderr[-4000:]
        line = stderr.strip().splitlines()[-1]
        assert line.startswith(f"socialfusion train: error: writing the trained model into {output_dir} failed: "), line
        assert f"disk mounted at {disk}" in line and line.endswith("rerunning the same command starts afresh"), line
