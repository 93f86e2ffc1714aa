"""Resuming a run from its last `checkpoint-N/` so that it ends as the uninterrupted run would.

LLaVA's train() calls `trainer.train(resume_from_checkpoint=True)` when output_dir holds
`checkpoint-*` folders: running the same command again resumes. Under LLaVA's pins (transformers
4.37) a LoRA run did not come back to the state it had left:
- DeepSpeed: a PEFT run's DeepSpeed checkpoint holds only the trainable parameters (transformers saves
  it with `exclude_frozen_parameters`), yet 4.37 loads it strictly ("Missing key(s) ...
  embed_tokens.weight"; transformers 4.38 loads PEFT runs non-strictly). Here only the saved module
  states are loaded, and every trainable parameter must be among them.
- Without DeepSpeed the trainer restores the LoRA adapter but not the connector, which is no part of
  the adapter; it is restored from `non_lora_trainables.safetensors` (checkpoints written before it
  existed: `non_lora_trainables.bin`), which every checkpoint holds.
- transformers 4.37 reads `rng_state.pth`, `optimizer.pt` and `scheduler.pt` with a bare `torch.load`
  and DeepSpeed reads its `global_step*/` files with `weights_only=False`: on torch < 2.6 (LLaVA's
  2.1.2), or with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, a pickle in them would run code at resume, and
  torch >= 2.6's default refuses the numpy random state inside `rng_state.pth`. While they load, their
  `torch.load` is `safe_load.read` with exactly the globals such a file needs (tensors; numpy's random
  state; DeepSpeed's loss scaler and partition records): anything else is refused, naming the file.
- The trainer restarts its running loss sum at zero, so the final `train_loss` (and, when
  logging_steps does not divide save_steps, the first loss logged after the restart) differed. The
  sum and the not-yet-logged part are saved with every checkpoint and carried over.
Optimizer, scheduler, RNG and the position in the data are restored by the trainer itself; the
seeded sampler (trainer.py) gives the same order after a restart.
A save that fails (a full disk, a read-only or vanished output folder: torch's writer then says only
`unexpected pos 128 vs 0`) stops the run with a CheckpointSaveError naming the folder, the disk and
its free space; the unfinished `tmp-checkpoint-N/` is removed (the trainer's scratch, never a
complete checkpoint), so rerunning the same command resumes from the last complete checkpoint.
Left as the host does it: a run set by --max_steps that ends inside an epoch, resumed from its LAST
checkpoint, trains one step more (transformers 4.37 checks the step limit only after a step; the
learning rate there is the schedule's end value, 0 for linear and cosine). Runs set by
--num_train_epochs, as LLaVA's are, resume from the last checkpoint without training.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import torch

from socialfusion_plugin.errors import CheckpointError, describe_environment_fault, environment_fault, free_space
from socialfusion_plugin.host.llava.loading.checkpoint_files import NON_LORA_FILE, copy_exact
from socialfusion_plugin.host.llava.environment.host_loads import TorchWithSafeLoad, swapped
from socialfusion_plugin.safe_load import DEEPSPEED_STATE, TENSORS, FileKind, prefer_safetensors, read

LOSS_STATE_FILE = "socialfusion_loss_state.json"


class ResumeError(CheckpointError):
    """A checkpoint cannot restore the run it came from."""


class CheckpointSaveError(CheckpointError):
    """A checkpoint could not be written; the run can resume from the last complete one."""


# What torch's zip writer says when a write comes up short (a full disk among others): no errno, no path.
TORCH_WRITER_FAILURES = ("PytorchStreamWriter failed", "unexpected pos", "file write failed")


@contextlib.contextmanager
def checkpoint_save_faults(output_dir: str, step: int, main_process: bool = True):
    """Around the trainer's `_save_checkpoint` of `checkpoint-<step>`: a fault of the disk becomes a
    CheckpointSaveError; anything else (a bug) passes through untouched."""
    final = os.path.join(output_dir, f"checkpoint-{step}")
    # transformers 4.37 writes into tmp-checkpoint-N and renames it when complete, unless checkpoint-N
    # already exists and is non-empty: it then writes in place, and that folder is not ours to remove
    in_place = os.path.isdir(final) and bool(os.listdir(final))
    try:
        yield
    except Exception as err:  # noqa: BLE001 - only a disk fault is turned into an error message
        cause = save_fault(err, output_dir)
        if cause is None:
            raise
        staging = os.path.join(output_dir, f"tmp-checkpoint-{step}")
        if in_place:
            left = (f"checkpoint-{step} was being rewritten in place and may be incomplete: move it out of "
                    f"{output_dir} before resuming")
        else:
            if main_process and os.path.isdir(staging):
                shutil.rmtree(staging, ignore_errors=True)  # the unfinished copy: frees its space, never a checkpoint
            left = f"the unfinished {staging} was removed"
        last = last_checkpoint(output_dir)
        resume = (f"once fixed, rerun the same command to resume from {last}" if last
                  else "no checkpoint is complete yet: once fixed, rerunning the same command starts afresh")
        message = f"saving checkpoint-{step} into {output_dir} failed: {cause}; {left}; {resume}"
        raise CheckpointSaveError(message) from err


def save_fault(err: BaseException, output_dir: str) -> Optional[str]:
    """The cause, in words, when `err` is the disk failing a write; else None."""
    fault = environment_fault(err)
    if fault is not None:  # a plain write names no file: then the disk of the output folder is named
        return describe_environment_fault(fault, where="writing its files", near=output_dir)
    text = str(err)
    if any(marker in text for marker in TORCH_WRITER_FAILURES) or "No space left" in text:
        # the writer names neither the file nor the reason: the disk's free space is the likely one
        first_line = text.splitlines()[0] if text else type(err).__name__
        return f"a write came up short ({first_line}), with {free_space(output_dir)}"
    return None


def last_checkpoint(output_dir: str) -> Optional[str]:
    """The `checkpoint-N` folder with the highest N in output_dir, the one rerunning the same train
    command resumes from (as the trainer decides); None when there is none."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None


LORA_SETTINGS = (("--lora_r", "r"), ("--lora_alpha", "lora_alpha"))


def check_lora_settings(model, checkpoint_dir: str) -> None:
    """Refuse to resume a LoRA run whose rank or alpha differ from the checkpoint's adapter_config.json
    (another rank cannot load; another alpha would load and silently train a different model)."""
    path = Path(checkpoint_dir) / "adapter_config.json"
    configs = getattr(model, "peft_config", None)
    if not configs or not path.is_file():
        return
    current = configs.get("default") or next(iter(configs.values()))
    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    changed = [f"{flag} {saved[key]} (this run: {getattr(current, key)})" for flag, key in LORA_SETTINGS
               if key in saved and saved[key] != getattr(current, key, saved[key])]
    if changed:
        raise ResumeError(f"{checkpoint_dir} was trained with {' and '.join(changed)}: {RESUME_ADVICE}")


RESUME_ADVICE = ("rerun with the arguments the run started with to resume it, or give another --output_dir to "
                 "start a new run")


@contextlib.contextmanager
def mismatched_sizes_named(checkpoint_dir: str):
    """A checkpoint whose tensors have other shapes than the model this command builds (torch says
    `size mismatch for <name>` over many lines): one ResumeError naming the checkpoint and a tensor."""
    try:
        yield
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).splitlines() if "size mismatch" in line]
        if not lines:
            raise
        raise ResumeError(f"{checkpoint_dir} does not fit the model this command builds ({lines[0].rstrip('.')}; "
                          f"{len(lines)} tensors differ): {RESUME_ADVICE}") from None


def resolve_checkpoint(resume_from_checkpoint, output_dir: str) -> Optional[str]:
    """The folder `trainer.train(resume_from_checkpoint=...)` will resume from (True -> the last
    `checkpoint-N` in output_dir, as the trainer decides); None when it starts afresh."""
    if resume_from_checkpoint is None or resume_from_checkpoint is False:
        return None
    if resume_from_checkpoint is True:
        return last_checkpoint(output_dir)
    return str(resume_from_checkpoint)


def trainer_loads(bound_method, kind: FileKind = TENSORS):
    """Within: `torch.load` as the module defining `bound_method` (transformers.trainer) sees it is
    `safe_load.read` with `kind`."""
    return swapped(bound_method.__func__.__globals__, "torch", TorchWithSafeLoad(kind))


def restore_non_lora_trainables(model, checkpoint_dir: str) -> int:
    """Copy the checkpoint's connector (non_lora_trainables.safetensors, or .bin in checkpoints without
    it) into the model's trainable non-LoRA parameters, in place so the optimizer keeps them. Returns
    the number of tensors."""
    path = prefer_safetensors(Path(checkpoint_dir) / NON_LORA_FILE)
    if not path.is_file():
        raise ResumeError(f"{path} not found: this checkpoint cannot restore the trained connector. Resume from an "
                          "earlier checkpoint-N (move this one out of the output folder) or start the run afresh.")
    params = {name: p for name, p in model.named_parameters() if p.requires_grad and "lora_" not in name}
    return copy_exact(params, path)


def load_saved_module_states(src, dst) -> None:
    """DeepSpeed `custom_load_fn`: load the module states the checkpoint holds (the trainable ones,
    for a LoRA run); every trainable parameter must be among them and nothing else may be."""
    with mismatched_sizes_named("the DeepSpeed checkpoint"):
        result = dst.load_state_dict(src, strict=False)
    trainable = {name for name, p in dst.named_parameters() if p.requires_grad}
    missing = sorted(trainable & set(result.missing_keys))
    if missing or result.unexpected_keys:
        raise ResumeError(f"the DeepSpeed checkpoint does not match the model: {len(missing)} trainable parameters "
                          f"missing (e.g. {missing[:3]}), {len(result.unexpected_keys)} unexpected keys "
                          f"(e.g. {list(result.unexpected_keys)[:3]})")


def load_deepspeed_checkpoint(engine, checkpoint_path, **_ignored) -> None:
    """Stands in for transformers' `deepspeed_load_checkpoint` (its strictness flag is decided by
    load_saved_module_states); optimizer and scheduler states are loaded as there. DeepSpeed's files
    are read through `safe_load.read` (DeepSpeed itself unpickles them with weights_only=False)."""
    if not glob.glob(os.path.join(glob.escape(str(checkpoint_path)), "global_step*")):
        raise ValueError(f"Can't find a valid checkpoint at {checkpoint_path}")
    with deepspeed_files_read_safely(engine):
        load_path, _ = engine.load_checkpoint(checkpoint_path, load_optimizer_states=True,
                                              load_lr_scheduler_states=True, custom_load_fn=load_saved_module_states)
    if load_path is None:
        raise ValueError(f"[deepspeed] failed to resume from checkpoint {checkpoint_path}")


def deepspeed_files_read_safely(engine):
    """Within: the engine's checkpoint engine (through which DeepSpeed 0.12-0.19 read every model,
    optimizer and ZeRO partition file of a checkpoint) loads with `safe_load.read`."""
    checkpoint_engine = getattr(engine, "checkpoint_engine", None)
    if checkpoint_engine is None:  # an engine without one (ZeRO-3 without optimizer) reads no checkpoint
        return contextlib.nullcontext()

    def load(path, map_location=None, *_args, **_ignored):
        return read(path, DEEPSPEED_STATE, map_location=map_location)

    return swapped(vars(checkpoint_engine), "load", load)


def deepspeed_loads_saved_module_states():
    """For the duration of one `train()`: the trainer's name `deepspeed_load_checkpoint` (looked up in
    transformers.trainer when it resumes, or loads the best model) is load_deepspeed_checkpoint."""
    import transformers.trainer as hf_trainer

    return swapped(vars(hf_trainer), "deepspeed_load_checkpoint", load_deepspeed_checkpoint)


@dataclass
class LossState:
    """The trainer's running-loss bookkeeping at a checkpoint (per process: the unlogged part is)."""
    global_step: int
    total_loss: float  # trainer._total_loss_scalar: the sum of every logged interval so far
    unlogged_loss: float  # the loop's tr_loss: summed since the last log
    last_logged_step: int  # trainer._globalstep_last_logged

    def restore_unlogged(self, tr_loss: torch.Tensor) -> None:
        """Before the first log after the restart: tr_loss then holds exactly one restarted step,
        and adding the saved part gives the same float sum as the uninterrupted run."""
        with torch.no_grad():
            tr_loss += self.unlogged_loss


def loss_restoring_callback(trainer):
    """A TrainerCallback restoring `trainer._loss_carry` (a LossState, or None) when training begins.
    If the checkpoint is the run's last step nothing is trained: the unlogged part then goes where
    the end of training puts it, into the total. Otherwise it waits for the first log."""
    from transformers import TrainerCallback

    class RestoreRunningLoss(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            carry = getattr(trainer, "_loss_carry", None)
            if carry is None:
                return
            trainer._total_loss_scalar += carry.total_loss  # the trainer has just zeroed its sums
            trainer._globalstep_last_logged = carry.last_logged_step
            if state.global_step >= state.max_steps:
                trainer._total_loss_scalar += carry.unlogged_loss
                trainer._loss_carry = None

    return RestoreRunningLoss()


def loss_state_path(folder: str, args) -> str:
    if getattr(args, "world_size", 1) <= 1:
        return os.path.join(folder, LOSS_STATE_FILE)
    stem, ext = os.path.splitext(LOSS_STATE_FILE)
    return os.path.join(folder, f"{stem}_{args.process_index}{ext}")


def save_loss_state(trainer, folder: str, tr_loss: Optional[torch.Tensor]) -> None:
    state = LossState(global_step=int(trainer.state.global_step),
                      total_loss=float(getattr(trainer, "_total_loss_scalar", 0.0)),
                      unlogged_loss=float(tr_loss.item()) if tr_loss is not None else 0.0,
                      last_logged_step=int(getattr(trainer, "_globalstep_last_logged", trainer.state.global_step)))
    os.makedirs(folder, exist_ok=True)
    with open(loss_state_path(folder, trainer.args), "w", encoding="utf-8") as handle:
        json.dump(asdict(state), handle)  # floats round-trip exactly through JSON


def read_loss_state(checkpoint_dir: str, args) -> Optional[LossState]:
    """None when the checkpoint has no loss state (written before it existed): the trainer's own
    behaviour then applies (only the final train_loss is off)."""
    path = loss_state_path(checkpoint_dir, args)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return LossState(**json.load(handle))
