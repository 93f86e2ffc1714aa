"""Installing the plugin's training hooks into LLaVA (idempotent), on top of the model hooks."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Optional

from socialfusion_plugin.host.llava.environment.llava_modules import language_model_lora_targets
from socialfusion_plugin.host.llava.training.data_module import install_data_hooks
from socialfusion_plugin.host.llava.environment.model_hooks import install_model_hooks
from socialfusion_plugin.host.llava.environment.tokenization import install_mismatch_guard
from socialfusion_plugin.host.llava.training.trainer import make_trainer_class


def install_train_hooks(train_module: Optional[ModuleType] = None) -> ModuleType:
    """What training needs, on `llava.train.train` (or the module given, e.g. when LLaVA's train.py
    runs as __main__). `train()` reads these names from its module globals when called."""
    install_model_hooks()
    module = train_module or importlib.import_module("llava.train.train")
    if not getattr(module, "_socialfusion_installed", False):
        module.find_all_linear_names = language_model_lora_targets
        module.LLaVATrainer = make_trainer_class(module.LLaVATrainer, module.get_peft_state_non_lora_maybe_zero_3)
        install_mismatch_guard(module)
        install_data_hooks(module)  # --data_recipe: mixtures trained on the fly
        module._socialfusion_installed = True
    return module


def install(train: bool = True, train_module: Optional[ModuleType] = None) -> None:
    if train:
        install_train_hooks(train_module)
    else:
        install_model_hooks()
