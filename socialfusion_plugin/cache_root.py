"""The one folder every cache of the plugin lives under.

`$SOCIALFUSION_CACHE` when set, else `~/.cache/socialfusion`. Each cache is a named subfolder:
`data` (converted recipe sources, memory-mapped Arrow), `probe-features` (probe features as .npy).
Read when a cache is opened, never when a module is imported, so setting the variable in a running
process (or for a subprocess) takes effect.
"""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "SOCIALFUSION_CACHE"


def cache_root() -> Path:
    value = os.environ.get(CACHE_ENV)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "socialfusion"


def cache_dir(name: str) -> Path:
    """`cache_root() / name`: one cache's folder (not created here)."""
    return cache_root() / name
