"""Social tasks. Every sub-package of this package is a task plugin that registers itself in
`socialfusion_plugin.registry.TASKS` when imported; plain modules here are the shared machinery.

Adding a task = one new folder `tasks/<name>/` (an `__init__.py` ending in a `TASKS.register(...)`
call, plus its `prompts.yaml`); nothing else changes.

Installed packages add tasks through the entry point group `socialfusion_plugin.tasks` (each entry
point names a module that registers its task, or a Task). They load when something first needs the
task list (a lookup or a listing in TASKS), not when `socialfusion_plugin` is imported, so a command
that needs no task never imports them. A plugin that fails to load (its import raises, it names
something that is not a task, its task name is taken) does not stop anything else: it is recorded as
broken, with one line naming the entry point, its distribution and the cause, and
- `socialfusion tasks` lists it as broken;
- a command that asks for a task the broken plugin would have provided (the entry point's name, or
  the name it tried to register) fails with that line (exit 2);
- a task name that two plugins both provide is refused with the line naming both distributions,
  rather than answered by whichever happened to load first; a plugin whose name is a built-in task's
  leaves the built-in in place;
- every other task keeps working.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Dict, List, Optional, Tuple

from ..errors import UserInputError
from ..registry import TASKS, RegistryError
from .base import Task, check_task

TASKS.require(check_task)  # before any task module registers (each imports this package first)
ENTRY_POINT_GROUP = "socialfusion_plugin.tasks"


def load_builtin_tasks() -> List[str]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg)
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names


class TaskPluginError(UserInputError):
    """An installed task plugin that cannot be loaded, or that registers a name already taken."""


@dataclass(frozen=True)
class BrokenPlugin:
    entry_point: str  # "name = value"
    distribution: str  # "distribution my-tasks 1.2"
    problem: str  # one line: the entry point, its distribution and the cause
    claims: Tuple[str, ...]  # task names it would have provided
    clashes_with_plugin: bool  # its task name is another plugin's (so neither may be used)


_Key = Tuple[str, str, str]  # (distribution, entry point name, value)
_loaded: Dict[_Key, List[str]] = {}  # entry point -> the task names it registered
_broken: Dict[_Key, BrokenPlugin] = {}
_plugin_tasks: Dict[str, _Key] = {}  # task name -> the entry point that registered it


def load_entry_point_tasks() -> List[str]:
    """Load every installed task plugin not tried yet; returns the names of the entry points loaded
    (now or before). One that fails is recorded (broken_task_plugins()), not raised."""
    TASKS.mark_loaded()  # a plugin that looks a task up while it loads must not start this again
    for key in [key for key, names in _loaded.items() if any(TASKS.peek(n) is None for n in names)]:
        del _loaded[key]  # its tasks were unregistered (tests do): load it again
    present = {(_distribution(e), e.name, e.value): e for e in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    for key in sorted(present):
        if key not in _loaded and key not in _broken:
            _load(present[key], key)
    for key in [key for key in _broken if key not in present]:  # uninstalled since
        del _broken[key]
    return sorted(key[1] for key in _loaded if key in present)


def broken_task_plugins() -> List[BrokenPlugin]:
    TASKS.names()  # the plugins load on first use
    return [_broken[key] for key in sorted(_broken)]


def _load(entry, key: _Key) -> None:
    distribution = key[0]
    where = f"task plugin entry point '{entry.name} = {entry.value}' ({distribution})"
    before = _registered()
    clash: Optional[str] = None
    try:
        with TASKS.registering_as(f"{distribution}, entry point '{entry.name}'"):
            obj = entry.load()
            if isinstance(obj, Task):
                taken = TASKS.peek(obj.name)
                if taken is not None and taken is not obj:
                    clash = obj.name
                    raise TaskPluginError(f"{where}: task name {obj.name!r} is already registered by "
                                          f"{TASKS.origin(obj.name)}; choose another name")
                if taken is None:  # (a module entry point may have registered the very object already)
                    TASKS.register(obj.name, obj)
            elif not isinstance(obj, ModuleType):
                raise TaskPluginError(f"{where}: names {obj!r}, expected a module that registers its task "
                                      "or a Task instance")
    except TaskPluginError as err:
        _record(entry, key, str(err), clash, before)
    except RegistryError as err:  # the module's own TASKS.register(...) met a taken (or invalid) name
        _record(entry, key, f"{where}: {err}", err.taken, before)
    except Exception as err:  # the plugin's own failure, whatever it is: one line, the rest still loads
        _record(entry, key, f"{where} failed to load: {type(err).__name__}: {_one_line(err)}", None, before)
    else:
        names = sorted(_registered() - before)
        _loaded[key] = names
        for name in names:
            _plugin_tasks[name] = key


def _record(entry, key: _Key, problem: str, clash: Optional[str], before) -> None:
    for name in _registered() - before:  # a plugin that failed half-way leaves no task behind
        TASKS.unregister(name)
    claims = tuple(dict.fromkeys(n for n in (entry.name, clash) if n))
    _broken[key] = BrokenPlugin(f"{entry.name} = {entry.value}", key[0], problem, claims,
                                clashes_with_plugin=clash is not None and clash in _plugin_tasks)


class _Plugins:
    """What TASKS asks about its plugins (registry.LazySource)."""

    def load(self) -> object:
        return load_entry_point_tasks()

    def refusal(self, name: str) -> Optional[Exception]:
        for broken in _broken.values():
            if name in broken.claims and (TASKS.peek(name) is None or broken.clashes_with_plugin):
                return TaskPluginError(broken.problem)
        return None

    def hint(self) -> str:
        if not _broken:
            return ""
        names = ", ".join(f"'{b.entry_point}' ({b.distribution})" for b in _broken.values())
        return f"; task plugins that failed to load: {names} (`socialfusion tasks` says why)"


def _registered() -> set:
    return set(TASKS.names())  # loads nothing: TASKS is marked loaded before any plugin loads


def _distribution(entry) -> str:
    dist = getattr(entry, "dist", None)
    if dist is None:
        return "distribution unknown"
    return f"distribution {dist.metadata['Name']} {dist.version}"


def _one_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:297] + "..."


TASKS.load_lazily(_Plugins())


__all__ = ["Task", "TaskPluginError", "broken_task_plugins", "load_builtin_tasks", "load_entry_point_tasks"]
