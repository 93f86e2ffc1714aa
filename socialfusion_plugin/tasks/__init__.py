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
from types import ModuleType
from typing import List

from ..errors import UserInputError
from ..registry import TASKS, RegistryError
from .base import Sample, Skip, Task, TaskOptions

ENTRY_POINT_GROUP = "socialfusion_plugin.tasks"


def load_builtin_tasks() -> List[str]:
    loaded = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.ispkg:
            importlib.import_module(f"{__name__}.{info.name}")
            loaded.append(info.name)
    return loaded


class TaskPluginError(UserInputError):
    """An installed task plugin that cannot be loaded, or that registers a name already taken."""


def load_entry_point_tasks() -> List[str]:
    """Import every installed task plugin. A plugin that fails to load, or whose task name is taken
    (by a built-in or another plugin), is an error naming the entry point, its distribution and the
    cause; the plugin's own exception stays chained below it."""
    loaded = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        where = f"task plugin entry point '{entry.name} = {entry.value}' ({_distribution(entry)})"
        try:
            obj = entry.load()
        except RegistryError as err:  # the module's own TASKS.register(...) met a taken name
            raise TaskPluginError(f"{where}: {err}") from err
        except Exception as err:
            raise TaskPluginError(f"{where} failed to load: {type(err).__name__}: {err}") from err
        if isinstance(obj, Task):
            if obj.name in TASKS and TASKS.get(obj.name) is not obj:
                raise TaskPluginError(f"{where}: task name {obj.name!r} is already registered by "
                                      f"{type(TASKS.get(obj.name)).__module__}; choose another name")
            if obj.name not in TASKS:
                TASKS.register(obj.name, obj)
        elif not isinstance(obj, ModuleType):
            raise TaskPluginError(f"{where}: names {obj!r}, expected a module that registers its task "
                                  "or a Task instance")
        loaded.append(entry.name)
    return loaded


def _distribution(entry) -> str:
    dist = getattr(entry, "dist", None)
    if dist is None:
        return "distribution unknown"
    return f"distribution {dist.metadata['Name']} {dist.version}"


def get_task(name: str) -> Task:
    return TASKS.get(name)


__all__ = ["Sample", "Skip", "Task", "TaskOptions", "TaskPluginError", "get_task", "load_builtin_tasks", "load_entry_point_tasks"]
