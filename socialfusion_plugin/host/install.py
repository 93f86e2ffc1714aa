"""Installing the plugin's hooks into LLaVA (idempotent). The only entry into LLaVA internals."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Optional

from .llava_modules import language_model_lora_targets
from .builders import install_builders
from .data_module import install_data_hooks
from .host_loads import install_safe_torch_load
from .tokenization import install_mismatch_guard
from .trainer import make_trainer_class
from .versions import check_environment


def install_model_hooks() -> None:
    """What inference needs: LLaVA's builders know our towers and connectors, and the projector
    weights LLaVA's model code reads itself (`--pretrain_mm_mlp_adapter`) never unpickle code."""
    check_environment()
    llava_arch = importlib.import_module("llava.model.llava_arch")
    install_builders(llava_arch)
    install_safe_torch_load(llava_arch)  # LLaVA reads --pretrain_mm_mlp_adapter with a bare torch.load


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
