"""Social tasks. Every sub-package of this package is a task plugin that registers itself in
`socialfusion_plugin.registry.TASKS` when imported; plain modules here are the shared machinery.

Adding a task = one new folder `tasks/<name>/` (an `__init__.py` ending in a `TASKS.register(...)`
call, plus its `prompts.yaml`); nothing else changes. Outside packages add tasks through the entry
point group `socialfusion_plugin.tasks` (each entry point names a module to import or a Task object).
"""
from __future__ import annotations

import importlib
import pkgutil
from importlib import metadata
from typing import List

from ..registry import TASKS
from .base import Sample, Skip, Task, TaskOptions

ENTRY_POINT_GROUP = "socialfusion_plugin.tasks"


def load_builtin_tasks() -> List[str]:
    loaded = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.ispkg:
            importlib.import_module(f"{__name__}.{info.name}")
            loaded.append(info.name)
    return loaded


def load_entry_point_tasks() -> List[str]:
    loaded = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        obj = entry.load()
        if isinstance(obj, Task) and obj.name not in TASKS:
            TASKS.register(obj.name, obj)
        loaded.append(entry.name)
    return loaded


def get_task(name: str) -> Task:
    return TASKS.get(name)


__all__ = ["Sample", "Skip", "Task", "TaskOptions", "get_task", "load_builtin_tasks", "load_entry_point_tasks"]
