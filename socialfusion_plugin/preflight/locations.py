"""Input files and folders that must exist, output folders and files that must be creatable.

Only stat calls: nothing is read, created or written. An output folder that does not exist yet is
fine when its nearest existing parent is a writable folder (the command creates it). Each message
names the path: `/data/a.json not found`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional


def input_file_problem(path) -> Optional[str]:
    path = Path(path).expanduser()
    if path.is_dir():
        return f"{path} is a folder, not a file"
    if not path.is_file():
        return f"{path} not found"
    return None if os.access(path, os.R_OK) else f"{path} is not readable"


def input_folder_problem(path) -> Optional[str]:
    path = Path(path).expanduser()
    if path.is_file():
        return f"{path} is a file, not a folder"
    return None if path.is_dir() else f"{path} not found"


def output_folder_problem(path) -> Optional[str]:
    """None when `path` is a writable folder, or can be created as one."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    if not path.exists():
        return _creatable(path)
    return f"{path} is a file; give a folder" if not path.is_dir() else _not_writable(path)


def output_file_problem(path) -> Optional[str]:
    """None when `path` can be written as a file (its folder exists or can be created)."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    if path.is_dir():
        return f"{path} is a folder; give a file path"
    if not path.exists():
        return _creatable(path)
    if not os.access(path, os.W_OK):
        return f"{path} exists and is not writable{_read_only(path)}"
    # outputs are written to a temporary file beside them, then renamed: the folder must be writable too
    folder_problem = _not_writable(path.parent)
    return f"{path} cannot be replaced: {folder_problem}" if folder_problem else None


def _creatable(path: Path) -> Optional[str]:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    problem = f"{parent} is a file, not a folder" if not parent.is_dir() else _not_writable(parent)
    return f"{path} cannot be created: {problem}" if problem else None


def _not_writable(folder: Path) -> Optional[str]:
    """None when files can be created in `folder`."""
    return None if os.access(folder, os.W_OK | os.X_OK) else f"{folder} is not writable{_read_only(folder)}"


def _read_only(path: Path) -> str:
    """' (read-only file system)' when the disk is mounted read-only: no permission change helps then."""
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): say nothing more
        return ""
    return " (read-only file system)" if read_only else ""
