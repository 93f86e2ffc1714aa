"""LLaVA-1.5 as a `ModelHost` (every capability): the interface's methods over the modules of this package.

A method that only forwards names its function (`_calls`), which is looked up in its module when
called (not at import), so importing this file imports no LLaVA, and a test that replaces e.g.
`checkpoints.load_checkpoint` sees every caller go through the replacement. The interface
(host_interface.py) gives each method's signature and contract.
"""
from __future__ import annotations

import importlib
import os
from functools import partial
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from socialfusion_plugin.host_interface import HOSTS, ModelHost, OptionScorer, TrainableModel
from socialfusion_plugin.host.llava.environment import llava_modules
from socialfusion_plugin.host.llava.loading.checkpoint_files import LLAVA_CHECKPOINT_FILES


def _calls(module: str, function: str):
    """A method that calls `function` of `socialfusion_plugin.host.llava.<module>` with its arguments."""

    def method(self, *args, **kwargs):
        return getattr(importlib.import_module(f"socialfusion_plugin.host.llava.{module}"), function)(*args, **kwargs)

    method.__name__ = method.__qualname__ = function
    return method


class LlavaHost(ModelHost):
    name = "llava"
    checkpoint_files = LLAVA_CHECKPOINT_FILES

    # -- inference --------------------------------------------------------------------------------
    checkpoint_kind = _calls("loading.checkpoint_files", "checkpoint_kind")
    load_dtype = _calls("loading.checkpoints", "resolve_dtype")
    load = _calls("loading.checkpoints", "load_checkpoint")
    merge_lora = _calls("loading.checkpoints", "merge_lora")
    generate = _calls("inference.batch_generation", "generate_answers")
    is_language_model_only = _calls("inference.general_loss", "is_language_model_only")
    load_language_model = _calls("inference.general_loss", "load_language_model")
    general_loss = _calls("inference.general_loss", "general_loss")

    def option_loglikelihoods(self, loaded, options: Mapping[str, str], conv_mode: str = "v1",
                              complete: bool = True) -> OptionScorer:
        from socialfusion_plugin.host.llava.inference import option_ranking

        option_ids = option_ranking.option_token_ids(loaded.tokenizer, options, conv_mode, complete=complete)
        return partial(option_ranking.rank_options, loaded, option_ids=option_ids, conv_mode=conv_mode)

    # -- diagnostics (gradients) ------------------------------------------------------------------
    def load_trainable(self, model_path, dtype=None, **options) -> TrainableModel:
        import torch

        from socialfusion_plugin.host.llava.diagnostics import model_factory

        loaded = model_factory.load_trainable_model(model_path, dtype=dtype or torch.float32, **options)
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

    parameter_role = staticmethod(llava_modules.parameter_role)
    layer_index = staticmethod(llava_modules.layer_index)

    # -- training ---------------------------------------------------------------------------------
    train = _calls("training.launcher", "main")
    deepspeed_cpu_blocker = _calls("environment.versions", "deepspeed_cpu_blocker")

    def train_argument_problems(self, argv: List[str]) -> List[str]:
        from socialfusion_plugin.host.llava.training.launcher import (LauncherArgumentError, attn_implementation,
                                                                      training_seed)

        problems = []
        for check in (attn_implementation, training_seed):
            try:
                check(argv)
            except LauncherArgumentError as err:  # a flag without a value, or a value it refuses
                problems.append(str(err))
        return problems

    label_check = _calls("training.label_check", "LabelChecker")

    def resume_checkpoint(self, output_dir) -> Optional[Path]:
        from socialfusion_plugin.host.llava.training.resume import last_checkpoint

        last = last_checkpoint(str(Path(str(output_dir)).expanduser()))
        return Path(last) if last else None

    # -- environment ------------------------------------------------------------------------------
    def import_framework(self) -> str:
        from socialfusion_plugin.host.llava.environment.versions import import_llava

        llava = import_llava()
        where = os.path.dirname(getattr(llava, "__file__", "") or "") or "namespace package"
        return f"LlavaLlamaForCausalLM available ({where})"

    version_breaks = _calls("environment.versions", "version_breaks")


LLAVA = LlavaHost()
HOSTS.register(LlavaHost.name, LLAVA)
