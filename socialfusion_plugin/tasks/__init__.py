"""Social tasks. Every sub-package of this package is a task plugin that registers itself in
`socialfusion_plugin.registry.TASKS` when imported; plain modules here are the shared machinery.

Adding a task = one new folder `tasks/<name>/` (an `__init__.py` ending in a `TASKS.register(...)`
call, plus its `prompts.yaml`); nothing else changes. Outside packages add tasks through the entry
point group `socialfusion_plugin.tasks` (each entry point names a module to import or a Task object);
they load when the task list is first needed, not at import (plugins.py).
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import List

from ..registry import TASKS
from .base import Task
from .contract import check_task
from .plugins import TaskPluginError, broken_task_plugins, load_entry_point_tasks

TASKS.require(check_task)  # before any task module registers (each imports this package first)


def load_builtin_tasks() -> List[str]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg)
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names


__all__ = ["Task", "TaskPluginError", "broken_task_plugins", "load_builtin_tasks", "load_entry_point_tasks"]
