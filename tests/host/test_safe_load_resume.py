"""Resuming never runs code from a checkpoint. transformers 4.37 reads rng_state.pth, optimizer.pt and
scheduler.pt with a bare torch.load and DeepSpeed reads its global_step*/ files with weights_only=False
(0.19) or a bare torch.load (0.12): through the plugin's trainer they are read by safe_load.read. A
malicious pickle (its __reduce__ creates a marker file) in each is refused, naming the file, with the
running torch as is and with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1; the marker never appears. A real
run's checkpoints carry the connector as .bin and .safetensors with equal tensors, and rerunning the
command on a checkpoint whose rng_state.pth was replaced stops with that file named."""
import glob
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from socialfusion_plugin.host.llava.training.resume import load_deepspeed_checkpoint
from socialfusion_plugin.safe_load import UnsafeFileError
from socialfusion_plugin.host.llava.training.trainer import make_trainer_class
from malicious_pickles import CreatesMarker, apply_setting
from tiny_lora_run import tiny_lora_args

SETTINGS = ["torch as is", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1"]


@pytest.fixture(params=SETTINGS)
def setting(request, monkeypatch):
    return apply_setting(monkeypatch, request.param)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mm_projector = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.mm_projector(x)


@pytest.fixture
def trainer_and_checkpoint(tmp_path):
    """The plugin's trainer class over transformers' Trainer, and a checkpoint-1 it wrote itself."""
    from transformers import Trainer, TrainingArguments

    trainer_class = make_trainer_class(Trainer, lambda named_parameters: {})
    args = TrainingArguments(output_dir=str(tmp_path / "run"), report_to="none", use_cpu=True, learning_rate=1e-2)
    trainer = trainer_class(model=Tiny(), args=args)
    trainer.create_optimizer_and_scheduler(num_training_steps=4)
    trainer.model(torch.randn(5, 3)).sum().backward()
    trainer.optimizer.step()
    trainer.lr_scheduler.step()
    checkpoint = tmp_path / "run" / "checkpoint-1"
    checkpoint.mkdir(parents=True)
    trainer._save_optimizer_and_scheduler(str(checkpoint))
    trainer._save_rng_state(str(checkpoint))
    return trainer, checkpoint


def draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_the_trainer_restores_its_own_files(trainer_and_checkpoint, setting):
    trainer, checkpoint = trainer_and_checkpoint
    expected = draws()  # the RNG state saved in rng_state.pth is the one before these draws
    trainer._load_rng_state(str(checkpoint))
    assert draws() == expected
    saved_state = {k: v.clone() for k, v in trainer.optimizer.state_dict()["state"][0].items()}
    trainer.optimizer.state.clear()
    trainer._load_optimizer_and_scheduler(str(checkpoint))
    assert torch.equal(trainer.optimizer.state_dict()["state"][0]["exp_avg"], saved_state["exp_avg"])
    assert trainer.lr_scheduler.last_epoch == 1


@pytest.mark.parametrize("file_name", ["rng_state.pth", "optimizer.pt", "scheduler.pt"])
def test_a_pickle_in_a_trainer_state_file_is_refused_at_resume(trainer_and_checkpoint, tmp_path, setting, file_name):
    trainer, checkpoint = trainer_and_checkpoint
    marker = tmp_path / "pickle-code-ran"
    torch.save({"python": CreatesMarker(marker), "state": {}, "param_groups": []}, checkpoint / file_name)
    with pytest.raises(UnsafeFileError) as raised:
        if file_name == "rng_state.pth":
            trainer._load_rng_state(str(checkpoint))
        else:
            trainer._load_optimizer_and_scheduler(str(checkpoint))
    assert str(checkpoint / file_name) in str(raised.value)
    assert not marker.exists()
    import transformers.trainer as hf_trainer

    assert hf_trainer.torch is torch  # transformers' module sees torch itself again


def test_a_pickle_in_a_saved_model_file_is_refused_at_resume(trainer_and_checkpoint, tmp_path, setting):
    trainer, checkpoint = trainer_and_checkpoint
    marker = tmp_path / "pickle-code-ran"
    torch.save({"mm_projector.weight": CreatesMarker(marker)}, checkpoint / "pytorch_model.bin")
    with pytest.raises(UnsafeFileError, match="pytorch_model.bin"):
        trainer._load_from_checkpoint(str(checkpoint))
    assert not marker.exists()


class EngineReadingLikeDeepSpeed:
    """A DeepSpeed engine's checkpoint reading: every file of global_step*/ through its checkpoint engine."""

    def __init__(self):
        from deepspeed.runtime.checkpoint_engine.torch_checkpoint_engine import TorchCheckpointEngine

        self.checkpoint_engine = TorchCheckpointEngine()
        self.loaded = []

    def load_checkpoint(self, path, **_kwargs):
        for name in sorted(glob.glob(os.path.join(path, "global_step*", "*.pt"))):
            self.loaded.append(self.checkpoint_engine.load(name, map_location=lambda storage, location: storage))
        return path, {}


def test_deepspeed_files_are_read_safely_at_resume(tmp_path, setting):
    from deepspeed.runtime.fp16.loss_scaler import LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum

    folder = tmp_path / "checkpoint-2" / "global_step2"
    folder.mkdir(parents=True)
    torch.save({"module": {"w": torch.ones(2)}, "param_shapes": [{"w": torch.Size([2])}], "ds_version": "0"},
               folder / "mp_rank_00_model_states.pt")
    torch.save({"optimizer_state_dict": {"loss_scaler": LossScaler(1.0), "zero_stage": ZeroStageEnum(2)}},
               folder / "zero_pp_rank_0_mp_rank_00_optim_states.pt")
    engine = EngineReadingLikeDeepSpeed()
    load_deepspeed_checkpoint(engine, str(folder.parent))
    assert torch.equal(engine.loaded[0]["module"]["w"], torch.ones(2))
    assert engine.loaded[1]["optimizer_state_dict"]["loss_scaler"].cur_scale == 1.0

    marker = tmp_path / "pickle-code-ran"
    torch.save({"module": CreatesMarker(marker)}, folder / "mp_rank_00_model_states.pt")
    with pytest.raises(UnsafeFileError) as raised:
        load_deepspeed_checkpoint(EngineReadingLikeDeepSpeed(), str(folder.parent))
    assert str(folder / "mp_rank_00_model_states.pt") in str(raised.value)
    assert not marker.exists()
    if setting == SETTINGS[0]:
        # the control: DeepSpeed's own reader runs the pickle's code (weights_only=False or a bare torch.load)
        engine = EngineReadingLikeDeepSpeed()
        assert "load" not in vars(engine.checkpoint_engine)
        engine.checkpoint_engine.load(str(folder / "mp_rank_00_model_states.pt"))
        assert marker.exists()


def train_args(tiny_assets, data, output_dir, max_steps):
    return tiny_lora_args(tiny_assets, data, output_dir,
                          ("--seed", "3", "--max_steps", str(max_steps), "--bf16", "False"), save_steps=1)


def train(args, cwd, env=None):
    """The training command in a subprocess: the TORCH_FORCE_* variables are exactly those of `env`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TORCH_FORCE_")}
    environment.update(PYTHONUNBUFFERED="1", **(env or {}))
    result = subprocess.run([sys.executable, "-m", "socialfusion_plugin.train", *args], cwd=cwd, env=environment,
                            capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def one_step_run(tiny_assets, tmp_path_factory):
    from socialfusion_plugin.demo.synthetic_data import write_color_dataset

    root = tmp_path_factory.mktemp("safe-load-run")
    data = write_color_dataset(root / "data", count=8, seed=0)
    code, output = train(train_args(tiny_assets, data, root / "run", max_steps=1), root)
    assert code == 0, output[-4000:]
    return root, data


@pytest.mark.slow
def test_a_new_checkpoint_has_both_connector_files_with_equal_tensors(one_step_run):
    from safetensors.torch import load_file

    root, _ = one_step_run
    for folder in (root / "run" / "checkpoint-1", root / "run"):  # a checkpoint and the final output
        from_bin = torch.load(folder / "non_lora_trainables.bin", weights_only=True)
        from_safetensors = load_file(folder / "non_lora_trainables.safetensors")
        assert from_bin.keys() == from_safetensors.keys() and any("mm_projector" in key for key in from_bin)
        assert all(torch.equal(from_bin[key], from_safetensors[key]) for key in from_bin), folder


@pytest.mark.slow
@pytest.mark.parametrize("env", [{}, {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}], ids=SETTINGS)
def test_rerunning_on_a_checkpoint_with_a_malicious_rng_state_stops_naming_it(one_step_run, tiny_assets, tmp_path,
                                                                              env):
    root, data = one_step_run
    output_dir = tmp_path / "run"
    shutil.copytree(root / "run" / "checkpoint-1", output_dir / "checkpoint-1")
    marker = tmp_path / "pickle-code-ran"
    rng_file = output_dir / "checkpoint-1" / "rng_state.pth"
    torch.save({"python": CreatesMarker(marker)}, rng_file)
    code, output = train(train_args(tiny_assets, data, output_dir, max_steps=2), tmp_path, env)
    assert code == 2 and f"resuming from {output_dir / 'checkpoint-1'}" in output, output[-4000:]
    assert f"{rng_file}: refused to load it" in output, output[-4000:]
    # one line, no traceback
    assert "Traceback" not in output and output.strip().splitlines()[-1].startswith(
        f"socialfusion train: error: {rng_file}: refused to load it"), output[-4000:]
    assert not marker.exists()


@pytest.mark.slow
def test_rerunning_on_an_intact_checkpoint_resumes_through_the_safe_readers(one_step_run, tiny_assets, tmp_path):
    # every file resuming reads (adapter, connector, optimizer, scheduler, RNG state) passes the readers
    root, data = one_step_run
    output_dir = tmp_path / "run"
    shutil.copytree(root / "run" / "checkpoint-1", output_dir / "checkpoint-1")
    code, output = train(train_args(tiny_assets, data, output_dir, max_steps=2), tmp_path,
                         {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"})
    assert code == 0 and f"resuming from {output_dir / 'checkpoint-1'}" in output, output[-4000:]
    assert (output_dir / "checkpoint-2" / "non_lora_trainables.safetensors").is_file()
