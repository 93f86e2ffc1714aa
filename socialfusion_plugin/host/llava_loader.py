"""The import path that LLaVA trees patched with the plugin's earlier model-hooks patch read
`file_dispatch` from. Kept so those trees keep importing after an upgrade; the current patch imports
it from `socialfusion_plugin.host`."""
from socialfusion_plugin.host.llava.loading.checkpoints import file_dispatch

__all__ = ["file_dispatch"]
