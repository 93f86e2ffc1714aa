"""A run stopped after checkpoint-N and started again with the SAME command continues from it (LLaVA's
train() resumes when output_dir has checkpoint-* folders) and ends exactly as the uninterrupted run:
same LoRA and connector weights, same logged losses. Without DeepSpeed, with ZeRO-2 and with ZeRO-3.

How a run is stopped: `killed_after_checkpoint` runs the command in a subprocess and SIGKILLs it as
soon as `checkpoint-2/` exists (the trainer gives a checkpoint its final name only when it is
complete), then the same command runs again in the same folder. Which checkpoint the kill lands
after (usually 2 of 8 steps) varies with machine load; any is a real resume, and the test checks that
the second run resumed rather than retrained (the checkpoints it found are left untouched).
`test_resume_at_an_epoch_boundary_or_the_end_carries_unlogged_loss` needs particular checkpoints: it
copies checkpoint-4 (or -8) of an uninterrupted run into a fresh folder. That is what a kill right
after that checkpoint leaves: the trainer reads nothing from output_dir but the last checkpoint-N
folder, and a run with the same command and seed writes the same checkpoint whether or not it goes on.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from socialfusion_plugin.resources import deepspeed_config

from tiny_lora_run import tiny_lora_args

pytestmark = pytest.mark.slow
TOLERANCE = 1e-6
# 16 samples, batch 4, two epochs (LLaVA runs are set by --num_train_epochs): 8 steps, checkpoints at 2, 4, 6, 8


def resume_args(tiny_assets, color_data, output_dir, extra=()):
    return tiny_lora_args(tiny_assets, color_data, output_dir,
                          ("--mm_projector_lr", "1e-3", "--seed", "3", "--num_train_epochs", "2"), extra=extra)


def command(args):
    return [sys.executable, "-m", "socialfusion_plugin.train", *args]


def environment():
    return dict(os.environ, PYTHONUNBUFFERED="1")


def run(args, cwd):
    result = subprocess.run(command(args), cwd=cwd, env=environment(), capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def killed_after_checkpoint(args, cwd, run_dir, step=2, timeout=600):
    """Run the command and SIGKILL it once checkpoint-<step>/ exists; returns the checkpoints left."""
    log = open(cwd / f"{run_dir.name}.killed.log", "w")
    process = subprocess.Popen(command(args), cwd=cwd, env=environment(), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while not (run_dir / f"checkpoint-{step}").is_dir():
            assert process.poll() is None, f"the run ended before checkpoint-{step}: see {log.name}"
            assert time.monotonic() < deadline, f"no checkpoint-{step} after {timeout} s"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
        log.close()
    assert process.returncode == -signal.SIGKILL, f"the run ended by itself before it was killed: see {log.name}"
    assert not (run_dir / "adapter_model.safetensors").exists()  # the final save never happened
    return sorted((path.name for path in run_dir.glob("checkpoint-*")), key=lambda name: int(name.split("-")[1]))


def checkpoint_fingerprint(run_dir, names):
    return {name: (run_dir / name / "trainer_state.json").stat().st_mtime_ns for name in names}


def final_state(run_dir):
    from safetensors.torch import load_file

    return (load_file(run_dir / "adapter_model.safetensors"),
            torch.load(run_dir / "non_lora_trainables.bin", weights_only=True),
            json.loads((run_dir / "trainer_state.json").read_text())["log_history"])


def max_abs_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[key].float() - b[key].float()).abs().max().item() for key in a)


def assert_same_result(reference_dir, resumed_dir):
    adapter_a, connector_a, log_a = final_state(reference_dir)
    adapter_b, connector_b, log_b = final_state(resumed_dir)
    diffs = {"lora": max_abs_diff(adapter_a, adapter_b), "connector": max_abs_diff(connector_a, connector_b)}
    print(f"max abs diff resumed vs uninterrupted: {diffs}")
    assert diffs["lora"] <= TOLERANCE and diffs["connector"] <= TOLERANCE, diffs
    # every logged step (loss, learning rate, epoch) and the final train_loss
    keys = ("step", "epoch", "loss", "learning_rate", "train_loss")
    steps_a = [{k: entry[k] for k in keys if k in entry} for entry in log_a]
    steps_b = [{k: entry[k] for k in keys if k in entry} for entry in log_b]
    assert [entry["step"] for entry in steps_a] == [entry["step"] for entry in steps_b]
    for entry_a, entry_b in zip(steps_a, steps_b):
        assert entry_a.keys() == entry_b.keys(), (entry_a, entry_b)
        for key in entry_a:
            assert entry_b[key] == pytest.approx(entry_a[key], abs=TOLERANCE), (key, entry_a, entry_b)
    assert "train_loss" in steps_b[-1]
    return diffs


def kill_resume_and_compare(tiny_assets, color_data, tmp_path, extra=()):
    reference = tmp_path / "uninterrupted"
    run(resume_args(tiny_assets, color_data, reference, extra), tmp_path)
    resumed = tmp_path / "killed-then-rerun"
    args = resume_args(tiny_assets, color_data, resumed, extra)
    left = killed_after_checkpoint(args, tmp_path, resumed)
    print(f"killed after {left}")
    before = checkpoint_fingerprint(resumed, left)
    output = run(args, tmp_path)  # the same command, in the same folder
    assert f"resuming from {resumed / left[-1]}" in output
    assert checkpoint_fingerprint(resumed, left) == before  # resumed, not retrained from step 0
    return assert_same_result(reference, resumed)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_killed_run_resumes_to_the_uninterrupted_result(tiny_assets, color_data, tmp_path, precision):
    # bf16 without DeepSpeed: parameters, optimizer state and checkpoints are all bf16, so the
    # restore is exact too (on a CPU, whose kernels are deterministic)
    kill_resume_and_compare(tiny_assets, color_data, tmp_path, extra=("--bf16", str(precision == "bf16")))


# Losses logged every 3 steps, so checkpoints 4 and 8 hold a loss not logged yet;
# --group_by_modality_length uses the plugin's seeded sampler; batches are packed into rows.
EPOCH_EXTRA = ("--bf16", "False", "--logging_steps", "3", "--group_by_modality_length", "True",
               "--pack_sequences", "True")


@pytest.fixture(scope="module")
def epoch_reference(tiny_assets, color_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume-reference")
    run(resume_args(tiny_assets, color_data, folder / "uninterrupted", EPOCH_EXTRA), folder)
    return folder / "uninterrupted"


@pytest.mark.parametrize("checkpoint", ["checkpoint-4", "checkpoint-8"])
def test_resume_at_an_epoch_boundary_or_the_end_carries_unlogged_loss(tiny_assets, color_data, tmp_path,
                                                                      epoch_reference, checkpoint):
    # checkpoint-4 ends epoch 1: the trainer restores the RNG at the start of epoch 2 instead of
    # skipping batches. checkpoint-8 is the last step (killed before the final save): nothing is left
    # to train; the final save and train_loss must still come out the same.
    resumed = tmp_path / f"resumed-from-{checkpoint}"
    resumed.mkdir()
    shutil.copytree(epoch_reference / checkpoint, resumed / checkpoint)
    output = run(resume_args(tiny_assets, color_data, resumed, EPOCH_EXTRA), tmp_path)
    assert f"resuming from {resumed / checkpoint}" in output
    assert_same_result(epoch_reference, resumed)


@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_killed_deepspeed_run_resumes_to_the_uninterrupted_result(deepspeed_runs_here, tiny_assets, color_data,
                                                                   tmp_path, stage):
    # a LoRA run's DeepSpeed checkpoint holds only the trainable parameters; resuming loads those and
    # the fp32 optimizer partitions (the trainer alone would fail: "Missing key(s) ... embed_tokens");
    # with packed batches, as packing must work under ZeRO-2 and ZeRO-3
    kill_resume_and_compare(tiny_assets, color_data, tmp_path,
                            extra=("--bf16", "False", "--deepspeed", str(deepspeed_config(stage)),
                                   "--pack_sequences", "True"))
