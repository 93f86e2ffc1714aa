"""The host boundary: the only package that touches LLaVA internals.

`install()` registers the plugin's vision towers and connectors in LLaVA's builders and installs
the training fixes; the launcher then runs LLaVA's own `train()`.
"""
from .install import install, install_model_hooks, install_train_hooks
from .tokenization import TokenizationMismatchError
from .trainer import FrozenTowerViolation
from .versions import HostEnvironmentError, check_environment, check_transformers_version

__all__ = [
    "FrozenTowerViolation",
    "HostEnvironmentError",
    "TokenizationMismatchError",
    "check_environment",
    "check_transformers_version",
    "install",
    "install_model_hooks",
    "install_train_hooks",
]
