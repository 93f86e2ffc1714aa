"""The host boundary: the only package that touches LLaVA internals, in rooms by concern under
`host/llava/`: environment (versions, builders, hooks), loading (checkpoint files, LLaVA's loader),
inference (generation, option ranking, losses), training (hooks into LLaVA's train(), trainer,
resume, launcher), packing (packed batches and attention) and diagnostics (a trainable model for the
analysis tools). `llava/llava_host.py` is the `ModelHost` the rest of the package sees.

`install()` registers the plugin's vision towers and connectors in LLaVA's builders and installs
the training fixes; the launcher then runs LLaVA's own `train()`. The names below are the ones
LLaVA's patched files and user scripts import (see patches/README.md).
"""
from socialfusion_plugin.host.llava.environment.model_hooks import install_model_hooks
from socialfusion_plugin.host.llava.environment.tokenization import TokenizationMismatchError
from socialfusion_plugin.host.llava.environment.versions import (HostEnvironmentError, check_environment,
                                                                 check_transformers_version)
from socialfusion_plugin.host.llava.loading.checkpoints import file_dispatch
from socialfusion_plugin.host.llava.training.install import install, install_train_hooks
from socialfusion_plugin.host.llava.training.trainer import FrozenTowerViolation

__all__ = ["FrozenTowerViolation", "HostEnvironmentError", "TokenizationMismatchError", "check_environment",
           "check_transformers_version", "file_dispatch", "install", "install_model_hooks", "install_train_hooks"]
