"""socialfusion-plugin: SocialFusion for LLaVA.

Importing the package registers the built-in vision encoders, connectors and tasks. Installed task
plugins load later, when the task list is first needed (tasks/__init__.py), so a broken one cannot
stop an import. LLaVA itself is imported only by `socialfusion_plugin.host`, at run time.
"""
from .compat.torchvision_ops import ensure_torchvision_importable

# Must run before anything imports torchvision (open_clip, timm, transformers do).
ensure_torchvision_importable()

from . import registry  # noqa: E402
from .registry import list_connectors, list_tasks, list_vision_encoders  # noqa: E402
from .model import register_builtin_model_parts  # noqa: E402
from .tasks import load_builtin_tasks  # noqa: E402

__version__ = "0.1.0"

register_builtin_model_parts()
load_builtin_tasks()

__all__ = ["list_connectors", "list_tasks", "list_vision_encoders", "registry", "__version__"]
