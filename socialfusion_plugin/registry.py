"""One registry mechanism for every pluggable part: vision encoders, connectors and tasks.

Names are lowercase, registration is explicit, and a duplicate name raises instead of silently
replacing the first entry (a plugin that shadows a built-in must say so by choosing a new name).
"""
from __future__ import annotations

import re
from typing import Callable, Dict, Generic, List, Optional, TypeVar

T = TypeVar("T")

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class RegistryError(KeyError):
    """Unknown or duplicate registry name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """A name -> entry map with explicit registration and discovery."""

    def __init__(self, kind: str, check: Optional[Callable[[str, T], None]] = None):
        """`check(name, entry)` raises when an entry does not meet its kind's contract."""
        self.kind = kind
        self._check = check
        self._entries: Dict[str, T] = {}

    def register(self, name: str, entry: T | None = None):
        """Register ``entry`` under ``name``; usable as ``register(name, obj)`` or as a decorator."""
        if not isinstance(name, str) or not _NAME_PATTERN.match(name):
            raise RegistryError(
                f"{self.kind} name {name!r} is invalid: use lowercase letters, digits and '_', "
                "starting with a letter"
            )

        def add(obj: T) -> T:
            if name in self._entries:
                raise RegistryError(
                    f"{self.kind} {name!r} is already registered ({self._entries[name]!r}); "
                    "choose another name"
                )
            if self._check is not None:
                self._check(name, obj)
            self._entries[name] = obj
            return obj

        if entry is None:
            return add
        return add(entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise RegistryError(f"unknown {self.kind} {name!r}; registered: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> List[str]:
        return sorted(self._entries)

    def unregister(self, name: str) -> None:
        """Remove an entry (for tests and for plugins that reload)."""
        self.get(name)
        del self._entries[name]


VISION_ENCODERS: Registry[Callable] = Registry("vision encoder")
CONNECTORS: Registry[Callable] = Registry("connector")
def _check_task(name: str, task: object) -> None:
    from .tasks.contract import check_task  # imported late: the tasks package imports this module

    check_task(name, task)


TASKS: Registry[object] = Registry("task", check=_check_task)


def list_vision_encoders() -> List[str]:
    return VISION_ENCODERS.names()


def list_connectors() -> List[str]:
    return CONNECTORS.names()


def list_tasks() -> List[str]:
    return TASKS.names()
