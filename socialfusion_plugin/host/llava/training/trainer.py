"""LLaVA's trainer with the fixes a SocialFusion run needs.

- The vision tower is re-frozen and checked for LoRA layers before anything trains.
- Trainable parameters by module are printed at start.
- `--group_by_modality_length`: LLaVA's LengthGroupedSampler draws from torch's GLOBAL random state,
  so the order depends on whatever consumed random numbers before it, and a resumed run (which
  restores the RNG state of the checkpoint) sees a different order than the original run; older
  LLaVA versions also crash when one modality is empty (an all-image social mixture has no text-only
  sample). Here the order is a pure function of (seed, epoch), the same on every rank and after a
  restart, and with only one modality present plain length grouping is used. LLaVA's own grouping
  functions do the grouping, so batches look exactly as LLaVA makes them.
- Under DeepSpeed with bf16/fp16 the trainable parameters (connector, LoRA) are cast to the compute
  dtype before the engine starts, as ZeRO-2 does for the whole model itself. ZeRO-3 leaves
  parameters created after `from_pretrained` alone: the fp32 connector then meets bf16 activations,
  and its flat buffer of trainable partitions needs a single dtype. DeepSpeed keeps fp32 master
  copies of them in the optimizer either way.
- `--mm_projector_lr` builds four parameter groups; with LoRA one of them is empty. DeepSpeed drops
  empty groups after the LR scheduler was sized for all four: new torch raises "zip() argument 2
  is longer than argument 1", old torch silently gives the connector the wrong learning rate.
  Empty groups are dropped when the optimizer is created, before the scheduler sees it.
- LLaVA casts the vision tower to float16 whenever `--bf16` is not set. On a CPU, torch 2.1 (LLaVA's
  pin) has no float16 convolution (`"slow_conv2d_cpu" not implemented for 'Half'`) and newer torch
  only emulates it, so a CPU run without `--fp16` keeps the frozen tower in float32.
- LLaVA writes `non_lora_trainables.bin` (the connector) only at the end of training, so its own
  loader cannot use intermediate checkpoints. It is written into every checkpoint here, with a
  `config.json`, so `checkpoint-N/` loads like the final output. It is written while the trainer
  saves the checkpoint (before the folder gets its final name), so a run killed mid-save never
  leaves a `checkpoint-N/` without it.
- The connector is also written as `non_lora_trainables.safetensors` (same tensors), which holds no
  code: into every checkpoint, and into the final output when LLaVA's train() calls `save_state()`,
  just before it writes the final `.bin`. A stage-1 run (`--tune_mm_mlp_adapter`) gets
  `mm_projector.safetensors` beside LLaVA's `mm_projector.bin` the same way. The plugin's loaders
  read it instead of the `.bin` (which stays: stock LLaVA's loader asks for it by name).
- Rerunning the command of a stopped run resumes from its last checkpoint and ends as the
  uninterrupted run would (resume.py says what the host got wrong and what is done about it).
"""
from __future__ import annotations

import contextlib
import copy
import os
from typing import List, Optional

import torch
from torch.utils.data import Sampler

from socialfusion_plugin.host.llava.environment import llava_modules
from socialfusion_plugin.host.llava.environment.host_loads import host_loads_read_safely
from socialfusion_plugin.host.llava.loading.checkpoint_files import NON_LORA_FILE, NON_LORA_SAFETENSORS, PROJECTOR_FILE
from socialfusion_plugin.host.llava.training.progress_callback import add_training_progress
from socialfusion_plugin.host.llava.training.resume import (
    check_lora_settings, checkpoint_save_faults, deepspeed_loads_saved_module_states, loss_restoring_callback,
    mismatched_sizes_named, read_loss_state, resolve_checkpoint, restore_non_lora_trainables, save_loss_state,
    trainer_loads)
from socialfusion_plugin.model.trainable_report import format_trainable_report
from socialfusion_plugin.safe_load import RNG_STATE, TENSORS


class FrozenTowerViolation(RuntimeError):
    """Something would train the vision tower."""


def vision_tower_of(model):
    getter = getattr(model, "get_vision_tower", None)
    if getter is None and hasattr(model, "get_base_model"):
        getter = getattr(model.get_base_model(), "get_vision_tower", None)
    return getter() if getter is not None else None


def enforce_frozen_tower(model) -> None:
    tower = vision_tower_of(model)
    if tower is None:
        return
    lora = [name for name, _ in tower.named_parameters() if "lora_" in name]
    if lora:
        raise FrozenTowerViolation(f"LoRA layers were placed inside the vision tower ({lora[:3]}...); the tower must "
                                   "stay in its original state. Use the plugin's launcher, which restricts LoRA to "
                                   "the language model.")
    for param in tower.parameters():
        param.requires_grad_(False)


def align_trainable_dtype(model, args) -> None:
    dtype = torch.bfloat16 if getattr(args, "bf16", False) else torch.float16 if getattr(args, "fp16", False) else None
    if dtype is None:
        return
    for param in model.parameters():
        if param.requires_grad and param.is_floating_point() and param.dtype != dtype:
            param.data = param.data.to(dtype)


def keep_cpu_tower_runnable(model, args) -> None:
    """Undo LLaVA's float16 cast of the tower on a CPU (unless the run asked for fp16)."""
    tower = vision_tower_of(model)
    if tower is None or getattr(args, "fp16", False):
        return
    params = list(tower.parameters())
    if params and params[0].device.type == "cpu" and params[0].dtype == torch.float16:
        tower.to(dtype=torch.float32)


def is_main_process(args) -> bool:
    return getattr(args, "local_rank", -1) in (0, -1) and getattr(args, "process_index", 0) == 0


def save_non_lora_trainables(trainer, output_dir: str, state_getter) -> None:
    """Called on every rank: under ZeRO-3 gathering the connector's parameters is collective."""
    state = state_getter(trainer.model.named_parameters())
    if is_main_process(trainer.args):
        config = copy.deepcopy(trainer.model.config)
        config.use_cache = True  # as LLaVA's final save: generation from this checkpoint uses the KV cache
        config.save_pretrained(output_dir)
        save_connector_safetensors(state, output_dir)
        torch.save(state, os.path.join(output_dir, NON_LORA_FILE))


def save_connector_safetensors(state, output_dir: str, file_name: str = NON_LORA_SAFETENSORS) -> None:
    """`non_lora_trainables.safetensors` (or `file_name`): the connector's tensors in a file that holds no code."""
    from safetensors.torch import save_file

    tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in state.items()}
    os.makedirs(output_dir, exist_ok=True)
    save_file(tensors, os.path.join(output_dir, file_name), metadata={"format": "pt"})


def stage1_projector_keys(state, args) -> dict:
    """The tensors LLaVA's stage-1 save puts into mm_projector.bin (its `keys_to_match`)."""
    keys = ["mm_projector"] + (["embed_tokens", "embed_in"] if getattr(args, "use_im_start_end", False) else [])
    return {name: tensor for name, tensor in state.items() if any(key in name for key in keys)}


class SeededLengthGroupedSampler(Sampler):
    def __init__(self, modality_lengths: List[int], batch_size: int, world_size: int, seed: int):
        self.modality_lengths = list(modality_lengths)
        self.batch_size, self.world_size, self.seed = batch_size, world_size, seed
        # image samples have positive lengths, text-only ones negative (LLaVA's modality_lengths)
        self.by_modality = any(n > 0 for n in self.modality_lengths) and any(n < 0 for n in self.modality_lengths)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.modality_lengths)

    def __iter__(self):
        from llava.train.llava_trainer import get_length_grouped_indices, get_modality_length_grouped_indices

        # LLaVA's modality grouping shuffles partly with generator=None (the global RNG): fork the
        # global state and seed it too, so every random draw below is determined by (seed, epoch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + self.epoch)
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            if self.by_modality:
                return iter(get_modality_length_grouped_indices(self.modality_lengths, self.batch_size,
                                                                self.world_size, generator=generator))
            lengths = [abs(length) for length in self.modality_lengths]
            return iter(get_length_grouped_indices(lengths, self.batch_size, self.world_size, generator=generator))


def train_sampler(trainer) -> Optional[Sampler]:
    """The sampler for SocialFusionTrainer._get_train_sampler; None -> the trainer's default."""
    args = trainer.args
    dataset = trainer.train_dataset
    if dataset is None or not getattr(args, "group_by_modality_length", False):
        return None
    lengths = list(dataset.modality_lengths)
    seed = args.data_seed if getattr(args, "data_seed", None) is not None else args.seed
    sampler = SeededLengthGroupedSampler(lengths, args.train_batch_size,
                                         world_size=args.world_size * args.gradient_accumulation_steps, seed=seed)
    if not sampler.by_modality and getattr(args, "process_index", 0) == 0:
        kind = "image" if lengths and lengths[0] > 0 else "text-only"
        print(f"group_by_modality_length: every sample is {kind}; grouping by length only", flush=True)
    return sampler


def make_trainer_class(base_trainer, non_lora_state_getter):
    """Subclass LLaVA's trainer (passed in, so this module never imports LLaVA itself)."""

    class SocialFusionTrainer(base_trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            enforce_frozen_tower(self.model)
            keep_cpu_tower_runnable(self.model, self.args)
            self.add_callback(loss_restoring_callback(self))
            add_training_progress(self)  # progress lines instead of a bar in logs
            if getattr(self, "is_deepspeed_enabled", False):
                align_trainable_dtype(self.model, self.args)
            if is_main_process(self.args):
                print(format_trainable_report(self.model, llava_modules.parameter_role), flush=True)

        def _get_train_sampler(self):
            sampler = train_sampler(self)
            return sampler if sampler is not None else super()._get_train_sampler()

        def create_optimizer(self):
            optimizer = super().create_optimizer()
            optimizer.param_groups[:] = [group for group in optimizer.param_groups if group["params"]]
            return optimizer

        def train(self, resume_from_checkpoint=None, *args, **kwargs):
            checkpoint = resolve_checkpoint(resume_from_checkpoint, self.args.output_dir)
            self._loss_carry = None
            if checkpoint:
                if is_main_process(self.args):
                    print(f"resuming from {checkpoint}", flush=True)
                check_lora_settings(self.model, checkpoint)  # another --lora_r: a plain error, not `size mismatch`
                self._loss_carry = read_loss_state(checkpoint, self.args)
            self._running_loss = None
            deepspeed = getattr(self, "is_deepspeed_enabled", False)
            with deepspeed_loads_saved_module_states() if deepspeed else contextlib.nullcontext():
                return super().train(checkpoint or resume_from_checkpoint, *args, **kwargs)

        def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
            # without DeepSpeed: the trainer loads the LoRA adapter; the connector is not part of it
            with trainer_loads(super()._load_from_checkpoint, TENSORS), host_loads_read_safely(), \
                    mismatched_sizes_named(resume_from_checkpoint):
                super()._load_from_checkpoint(resume_from_checkpoint, model=model)
            if getattr(self.args, "lora_enable", False):
                restore_non_lora_trainables(self.model, resume_from_checkpoint)

        def _load_rng_state(self, checkpoint):
            # transformers 4.37 reads rng_state.pth with a bare torch.load (python, numpy, torch states)
            with trainer_loads(super()._load_rng_state, RNG_STATE):
                super()._load_rng_state(checkpoint)

        def _load_optimizer_and_scheduler(self, checkpoint):
            # optimizer.pt, scheduler.pt: a bare torch.load in transformers 4.37
            with trainer_loads(super()._load_optimizer_and_scheduler, TENSORS):
                super()._load_optimizer_and_scheduler(checkpoint)

        def _maybe_log_save_evaluate(self, tr_loss, *args, **kwargs):
            self._running_loss = tr_loss  # the loop's running loss tensor, saved with each checkpoint
            if getattr(self, "_loss_carry", None) is not None:  # sums were restored when training began
                self._loss_carry.restore_unlogged(tr_loss)
                self._loss_carry = None
            return super()._maybe_log_save_evaluate(tr_loss, *args, **kwargs)

        def _save_checkpoint(self, model, trial, *args, **kwargs):
            # a full or read-only disk: one error naming the folder and the disk, and no unfinished
            # tmp-checkpoint-N left behind, so the same command resumes from the last complete one
            with checkpoint_save_faults(self.args.output_dir, self.state.global_step, is_main_process(self.args)):
                return super()._save_checkpoint(model, trial, *args, **kwargs)

        def _save_rng_state(self, output_dir):
            super()._save_rng_state(output_dir)
            save_loss_state(self, output_dir, getattr(self, "_running_loss", None))

        def save_state(self):
            # LLaVA's train() calls this on every rank right before it writes the final
            # non_lora_trainables.bin (training is over: the same tensors); gathering is collective
            super().save_state()
            lora = getattr(self.args, "lora_enable", False)
            if not lora and not getattr(self.args, "tune_mm_mlp_adapter", False):
                return
            state = non_lora_state_getter(self.model.named_parameters())
            file_name = NON_LORA_SAFETENSORS
            if not lora:
                # stage 1 (connector alone): LLaVA writes mm_projector.bin, a pickle, right after this;
                # mm_projector.safetensors holds the same tensors and no code
                state = stage1_projector_keys(state, self.args)
                file_name = os.path.splitext(PROJECTOR_FILE)[0] + ".safetensors"
            if is_main_process(self.args):
                save_connector_safetensors(state, self.args.output_dir, file_name)

        def save_model(self, output_dir=None, _internal_call=False):
            super().save_model(output_dir, _internal_call=_internal_call)
            # _internal_call: a checkpoint being saved (into its staging folder)
            if _internal_call and getattr(self.args, "lora_enable", False):
                save_non_lora_trainables(self, output_dir or self.args.output_dir, non_lora_state_getter)

    SocialFusionTrainer.__name__ = SocialFusionTrainer.__qualname__ = "SocialFusionTrainer"
    return SocialFusionTrainer
