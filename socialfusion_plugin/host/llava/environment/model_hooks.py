"""The hooks inference needs in LLaVA (idempotent): its builders know the plugin's towers and
connectors, and the projector weights LLaVA's model code reads itself never unpickle code."""
from __future__ import annotations

import importlib

from socialfusion_plugin.host.llava.environment.builders import install_builders
from socialfusion_plugin.host.llava.environment.host_loads import install_safe_torch_load
from socialfusion_plugin.host.llava.environment.versions import check_environment


def install_model_hooks() -> None:
    """What inference needs: LLaVA's builders know our towers and connectors, and the projector
    weights LLaVA's model code reads itself (`--pretrain_mm_mlp_adapter`) never unpickle code."""
    check_environment()
    llava_arch = importlib.import_module("llava.model.llava_arch")
    install_builders(llava_arch)
    install_safe_torch_load(llava_arch)  # LLaVA reads --pretrain_mm_mlp_adapter with a bare torch.load
