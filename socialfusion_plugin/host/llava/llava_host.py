"""LLaVA-1.5 as a `ModelHost` (every capability): the interface's methods over the modules of this package.

Each method looks its implementation up in its module when called (not at import), so importing
this file imports no LLaVA, and a test that replaces e.g. `checkpoints.load_checkpoint` sees every
caller go through the replacement.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from socialfusion_plugin.host_interface import HOSTS, LoadedModel, ModelHost, OptionScorer, TrainableModel
from socialfusion_plugin.host.llava.environment import llava_modules
from socialfusion_plugin.host.llava.loading.checkpoint_files import LLAVA_CHECKPOINT_FILES


class LlavaHost(ModelHost):
    name = "llava"
    checkpoint_files = LLAVA_CHECKPOINT_FILES

    # -- inference: loading -----------------------------------------------------------------------
    def checkpoint_kind(self, model_path, model_base: Optional[str]) -> str:
        from socialfusion_plugin.host.llava.loading.checkpoint_files import checkpoint_kind

        return checkpoint_kind(Path(model_path), model_base)

    def load_dtype(self, device, dtype):
        from socialfusion_plugin.host.llava.loading.llava_loader import resolve_dtype

        return resolve_dtype(device, dtype)

    def load(self, model_path, model_base: Optional[str] = None, device: str = "cpu", dtype=None) -> LoadedModel:
        from socialfusion_plugin.host.llava.loading import checkpoints

        return checkpoints.load_checkpoint(model_path, model_base, device=device, dtype=dtype)

    def merge_lora(self, model_path, model_base: str, out_dir, device: str = "cpu", dtype=None) -> Path:
        from socialfusion_plugin.host.llava.loading import checkpoints

        return checkpoints.merge_lora(model_path, model_base, out_dir, device=device, dtype=dtype)

    # -- inference: answers -----------------------------------------------------------------------
    def generate(self, loaded, questions, images, conv_mode="v1", max_new_tokens=32, temperature=0.0,
                 seed=0) -> List[str]:
        from socialfusion_plugin.host.llava.inference import batch_generation

        return batch_generation.generate_answers(loaded, questions, images, conv_mode=conv_mode,
                                                 max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)

    def option_loglikelihoods(self, loaded, options: Mapping[str, str], conv_mode: str = "v1",
                              complete: bool = True) -> OptionScorer:
        from socialfusion_plugin.host.llava.inference import option_ranking

        option_ids = option_ranking.option_token_ids(loaded.tokenizer, options, conv_mode, complete=complete)
        return partial(option_ranking.rank_options, loaded, option_ids=option_ids, conv_mode=conv_mode)

    # -- inference: forgetting check --------------------------------------------------------------
    def is_language_model_only(self, model_path, model_base: Optional[str]) -> bool:
        from socialfusion_plugin.host.llava.inference import general_loss

        return general_loss.is_language_model_only(model_path, model_base)

    def load_language_model(self, model_path, device: str = "cpu", dtype=None) -> LoadedModel:
        from socialfusion_plugin.host.llava.inference import general_loss

        return general_loss.load_language_model(model_path, device=device, dtype=dtype)

    def general_loss(self, loaded, records, load_image, conv_mode="v1", batch_size=4, progress=None):
        from socialfusion_plugin.host.llava.inference import general_loss

        return general_loss.general_loss(loaded, records, load_image, conv_mode=conv_mode, batch_size=batch_size,
                                         progress=progress)

    # -- diagnostics (gradients) ------------------------------------------------------------------
    def load_trainable(self, model_path, model_base=None, vision_tower=None, version="v1", lora_r=8, lora_alpha=16,
                       projector_type="mlp2x_gelu", dtype=None, seed=0) -> TrainableModel:
        import torch

        from socialfusion_plugin.host.llava.diagnostics import trainable_checkpoint

        loaded = trainable_checkpoint.load_trainable_model(
            model_path, model_base=model_base, vision_tower=vision_tower, version=version, lora_r=lora_r,
            lora_alpha=lora_alpha, projector_type=projector_type, dtype=dtype or torch.float32, seed=seed)
        return TrainableModel(model=loaded.built.model, kind=loaded.kind, loaded_keys=loaded.loaded_keys,
                              state=loaded.built)

    def training_batch(self, trainable: TrainableModel, records: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        from socialfusion_plugin.host.llava.diagnostics import model_factory

        return model_factory.make_batch(trainable.state, records)

    def batch_loss(self, trainable: TrainableModel, batch: Dict[str, Any], device: str, dtype):
        import torch

        inputs = {key: value.to(device) for key, value in batch.items() if isinstance(value, torch.Tensor)}
        if "images" in inputs:
            inputs["images"] = inputs["images"].to(dtype)
        return trainable.model(**inputs).loss

    def parameter_role(self, name: str) -> str:
        return llava_modules.parameter_role(name)

    def layer_index(self, name: str) -> Optional[int]:
        return llava_modules.layer_index(name)

    # -- training ---------------------------------------------------------------------------------
    def train(self, argv: List[str]) -> int:
        from socialfusion_plugin.host.llava.training import launcher

        return launcher.main(argv)

    def train_argument_problems(self, argv: List[str]) -> List[str]:
        """What the launcher itself refuses (`--attn_implementation`, `--seed`), worded as it words it."""
        from socialfusion_plugin.host.llava.training.launcher import ATTN_CHOICES, LauncherArgumentError, pop_option, training_seed

        problems = []
        try:
            _, attn_implementation = pop_option(list(argv), "--attn_implementation")
            if attn_implementation is not None and attn_implementation not in ATTN_CHOICES:
                problems.append(f"--attn_implementation must be one of {', '.join(ATTN_CHOICES)}, "
                                f"got {attn_implementation!r}")
        except LauncherArgumentError as err:  # the flag without a value
            problems.append(str(err))
        try:
            training_seed(argv)
        except LauncherArgumentError as err:
            problems.append(str(err))
        return problems

    def label_check(self, model_path, version: str, model_max_length: int, image_tokens: int,
                    mm_use_im_start_end: bool):
        from socialfusion_plugin.host.llava.training.label_check import LabelCheckSettings, make_label_check

        return make_label_check(LabelCheckSettings(model_path=model_path, version=version,
                                                   model_max_length=model_max_length, image_tokens=image_tokens,
                                                   mm_use_im_start_end=mm_use_im_start_end))

    def resume_checkpoint(self, output_dir) -> Optional[Path]:
        from socialfusion_plugin.host.llava.training.resume import last_checkpoint

        last = last_checkpoint(str(Path(str(output_dir)).expanduser()))
        return Path(last) if last else None

    def deepspeed_cpu_blocker(self) -> Optional[str]:
        from socialfusion_plugin.host.llava.environment.deepspeed_support import deepspeed_cpu_blocker

        return deepspeed_cpu_blocker()

    # -- environment ------------------------------------------------------------------------------
    def import_framework(self) -> str:
        import os

        from socialfusion_plugin.host.llava.environment.versions import import_llava

        llava = import_llava()
        where = os.path.dirname(getattr(llava, "__file__", "") or "") or "namespace package"
        return f"LlavaLlamaForCausalLM available ({where})"

    def version_breaks(self):
        from socialfusion_plugin.host.llava.environment.versions import version_breaks

        return version_breaks()


LLAVA = LlavaHost()
HOSTS.register(LlavaHost.name, LLAVA)
