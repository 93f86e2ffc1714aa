"""One registry mechanism for every pluggable part: vision encoders, connectors and tasks.

Names are lowercase, registration is explicit, and a duplicate name raises instead of silently
replacing the first entry (a plugin that shadows a built-in must say so by choosing a new name).
"""
from __future__ import annotations

import contextlib
import re
from typing import Callable, Dict, Generic, Iterator, List, Optional, Protocol, TypeVar

from .errors import RegistryError

T = TypeVar("T")

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class LazySource(Protocol):
    """Entries that arrive on first use (installed plugins), and what to say about those that failed."""

    def load(self) -> object:
        """Register the entries; called once, before the registry is first read."""

    def refusal(self, name: str) -> Optional[Exception]:
        """The error to raise for `name` (a name a broken plugin claims), None when it may be used."""

    def hint(self) -> str:
        """Appended to the message for an unknown name ('' for nothing)."""


def default_origin(entry: object) -> str:
    """Who registered `entry`, when no plugin loader said: its module, and so its distribution."""
    module = getattr(entry, "__module__", None) or type(entry).__module__
    qualname = getattr(entry, "__qualname__", None)
    where = f"{module}.{qualname}" if qualname else module
    return f"{where} (built into socialfusion-plugin)" if module.startswith("socialfusion_plugin.") else where


class Registry(Generic[T]):
    """A name -> entry map with explicit registration and discovery."""

    def __init__(self, kind: str, check: Optional[Callable[[str, T], None]] = None):
        """`check(name, entry)` raises when an entry does not meet its kind's contract."""
        self.kind = kind
        self._check = check
        self._entries: Dict[str, T] = {}
        self._origins: Dict[str, str] = {}
        self._registering_as: Optional[str] = None
        self._source: Optional[LazySource] = None
        self._source_loaded = False

    def require(self, check: Callable[[str, T], None]) -> None:
        """Set the contract every entry registered from now on must meet (for a kind whose contract
        lives in the package that defines its entries, which imports this module)."""
        self._check = check

    def load_lazily(self, source: LazySource) -> None:
        """Have `source.load()` run before the first lookup or listing, not now (so importing the
        package never imports an installed plugin, and a broken one harms only what needs it)."""
        self._source, self._source_loaded = source, False

    def mark_loaded(self) -> None:
        """The lazy source is loading now, called directly: a read during it must not start it again."""
        self._source_loaded = True

    def peek(self, name: str) -> Optional[T]:
        """The entry registered as `name` so far, or None; loads nothing (for the lazy source itself)."""
        return self._entries.get(name)

    def _ensure_loaded(self) -> None:
        if self._source is not None and not self._source_loaded:
            self._source_loaded = True  # first: the source registers entries and may look them up
            self._source.load()

    @contextlib.contextmanager
    def registering_as(self, origin: str) -> Iterator[None]:
        """Entries registered in the block are recorded as coming from `origin` (a plugin's
        distribution), so a duplicate name names both sides."""
        previous, self._registering_as = self._registering_as, origin
        try:
            yield
        finally:
            self._registering_as = previous

    def origin(self, name: str) -> str:
        """Who registered `name` (a distribution and entry point, or a module)."""
        return self._origins[name]

    def register(self, name: str, entry: T | None = None):
        """Register ``entry`` under ``name``; usable as ``register(name, obj)`` or as a decorator."""
        if not isinstance(name, str) or not _NAME_PATTERN.match(name):
            raise RegistryError(f"{self.kind} name {name!r} is invalid: use lowercase letters, digits and '_', "
                                "starting with a letter")

        def add(obj: T) -> T:
            if name in self._entries:
                raise RegistryError(f"{self.kind} {name!r} is already registered by {self._origins[name]}; "
                                    "choose another name", taken=name)
            if self._check is not None:
                self._check(name, obj)
            self._entries[name] = obj
            self._origins[name] = self._registering_as or default_origin(obj)
            return obj

        return add if entry is None else add(entry)

    def get(self, name: str) -> T:
        self._ensure_loaded()
        refusal = self._source.refusal(name) if self._source is not None else None
        if refusal is not None:
            raise refusal
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            hint = self._source.hint() if self._source is not None else ""
            raise RegistryError(f"unknown {self.kind} {name!r}; registered: {known}{hint}") from None

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def names(self) -> List[str]:
        self._ensure_loaded()
        return sorted(self._entries)

    def unregister(self, name: str) -> None:
        """Remove an entry (for tests and for plugins that reload, or fail half-way)."""
        if name not in self._entries:
            self.get(name)  # the unknown-name error
        del self._entries[name]
        self._origins.pop(name, None)


VISION_ENCODERS: Registry[Callable] = Registry("vision encoder")
CONNECTORS: Registry[Callable] = Registry("connector")
# its entry check (the task contract) is set by the tasks package, which imports this module
TASKS: Registry[object] = Registry("task")
list_vision_encoders = VISION_ENCODERS.names
list_connectors = CONNECTORS.names
list_tasks = TASKS.names
