"""The pieces of resuming that need no training run: what a checkpoint restores and what it refuses."""
import types

import pytest
import torch

from socialfusion_plugin.host.llava.loading.checkpoints import CheckpointError
from socialfusion_plugin.host.llava.training.resume import (
    LossState, ResumeError, load_deepspeed_checkpoint, load_saved_module_states,
    read_loss_state, resolve_checkpoint, restore_non_lora_trainables, save_loss_state,
)


class Tiny(torch.nn.Module):
    """Names as in a LLaVA LoRA run: a frozen base layer, LoRA matrices, a trainable connector."""

    def __init__(self):
        super().__init__()
        self.base = torch.nn.Linear(3, 3)
        self.lora_A = torch.nn.Linear(3, 2, bias=False)
        self.mm_projector = torch.nn.Linear(3, 4)
        self.base.requires_grad_(False)


def test_connector_is_restored_in_place_and_must_match(tmp_path):
    model = Tiny()
    projector_weight = model.mm_projector.weight
    saved = {name: torch.randn_like(p) for name, p in model.named_parameters() if name.startswith("mm_projector")}
    torch.save(saved, tmp_path / "non_lora_trainables.bin")
    assert restore_non_lora_trainables(model, str(tmp_path)) == 2
    assert model.mm_projector.weight is projector_weight  # the optimizer still holds this parameter
    assert torch.equal(model.mm_projector.weight, saved["mm_projector.weight"])
    torch.save({"mm_projector.weight": saved["mm_projector.weight"]}, tmp_path / "non_lora_trainables.bin")
    with pytest.raises(CheckpointError, match="mm_projector.bias"):
        restore_non_lora_trainables(model, str(tmp_path))
    with pytest.raises(ResumeError, match="cannot restore the trained connector"):
        restore_non_lora_trainables(model, str(tmp_path / "missing"))


def test_deepspeed_module_states_load_trainables_only():
    model = Tiny()
    trainable = {name: torch.zeros_like(p) for name, p in model.state_dict().items() if not name.startswith("base")}
    load_saved_module_states(src=trainable, dst=model)
    assert torch.count_nonzero(model.mm_projector.weight) == 0 and torch.count_nonzero(model.base.weight) > 0
    with pytest.raises(ResumeError, match="1 trainable parameters missing"):
        load_saved_module_states(src={k: v for k, v in trainable.items() if k != "lora_A.weight"}, dst=model)
    with pytest.raises(ResumeError, match="1 unexpected"):
        load_saved_module_states(src={**trainable, "vision_tower.weight": torch.zeros(1)}, dst=model)


def test_deepspeed_checkpoint_is_loaded_through_the_checking_loader(tmp_path):
    calls = []
    engine = types.SimpleNamespace(load_checkpoint=lambda path, **kw: calls.append(kw) or (path, {}))
    with pytest.raises(ValueError, match="Can't find a valid checkpoint"):
        load_deepspeed_checkpoint(engine, str(tmp_path))
    (tmp_path / "global_step2").mkdir()
    load_deepspeed_checkpoint(engine, str(tmp_path), load_module_strict=True)  # newer transformers pass it
    assert calls == [dict(load_optimizer_states=True, load_lr_scheduler_states=True,
                          custom_load_fn=load_saved_module_states)]


def test_last_checkpoint_is_the_highest_step(tmp_path):
    assert resolve_checkpoint(None, str(tmp_path)) is None and resolve_checkpoint(False, str(tmp_path)) is None
    assert resolve_checkpoint(True, str(tmp_path)) is None
    for step in (2, 10, 4):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "tmp-checkpoint-12").mkdir()  # a save the kill interrupted
    assert resolve_checkpoint(True, str(tmp_path)) == str(tmp_path / "checkpoint-10")
    assert resolve_checkpoint(str(tmp_path / "checkpoint-2"), str(tmp_path)) == str(tmp_path / "checkpoint-2")


@pytest.mark.parametrize("world_size, name",
                         [(1, "socialfusion_loss_state.json"), (2, "socialfusion_loss_state_1.json")])
def test_loss_state_round_trips_exactly_per_process(tmp_path, world_size, name):
    args = types.SimpleNamespace(world_size=world_size, process_index=1)
    trainer = types.SimpleNamespace(args=args, state=types.SimpleNamespace(global_step=4),
                                    _total_loss_scalar=0.1 + 0.2, _globalstep_last_logged=3)
    running = torch.tensor(5.4623001, dtype=torch.float32)
    save_loss_state(trainer, str(tmp_path), running)
    assert (tmp_path / name).is_file()
    state = read_loss_state(str(tmp_path), args)
    assert state == LossState(global_step=4, total_loss=0.1 + 0.2, unlogged_loss=running.item(), last_logged_step=3)
    assert read_loss_state(str(tmp_path / "elsewhere"), args) is None


def restarted_trainer(carry, global_step, max_steps):
    from socialfusion_plugin.host.llava.training.resume import loss_restoring_callback

    trainer = types.SimpleNamespace(_loss_carry=carry, _total_loss_scalar=0.0, _globalstep_last_logged=global_step)
    state = types.SimpleNamespace(global_step=global_step, max_steps=max_steps)
    loss_restoring_callback(trainer).on_train_begin(None, state, None)
    return trainer


def test_restored_sums_continue_as_the_uninterrupted_run():
    carry = LossState(global_step=4, total_loss=16.83, unlogged_loss=5.462300300598145, last_logged_step=3)
    trainer = restarted_trainer(carry, global_step=4, max_steps=6)
    assert trainer._total_loss_scalar == 16.83 and trainer._globalstep_last_logged == 3
    assert trainer._loss_carry is carry  # the unlogged part waits for the first restarted step
    tr_loss = torch.tensor(5.25)  # the loop's sum after step 5
    carry.restore_unlogged(tr_loss)
    assert tr_loss.item() == (torch.tensor(5.462300300598145) + torch.tensor(5.25)).item()
    # resuming the last checkpoint of a finished run trains nothing: the unlogged part goes into the
    # total, as the end of training would have added it
    finished = restarted_trainer(carry, global_step=6, max_steps=6)
    assert finished._total_loss_scalar == 16.83 + 5.462300300598145 and finished._loss_carry is None
