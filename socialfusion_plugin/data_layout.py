"""The one data layout every command, recipe and script shares, under `$SOCIALFUSION_DATA`
(default `./data`, relative to the current directory):

    $SOCIALFUSION_DATA/<task>/                      the task's original release, as downloaded
                                                    (`convert --root`; record image paths start here)
    $SOCIALFUSION_DATA/converted/<task>_<split>.json  `socialfusion convert <task> --split <split>`
    $SOCIALFUSION_DATA/llava/llava_v1_5_mix665k.json  LLaVA's general instruction data; its image
                                                    folders (coco/, gqa/, ...) under llava/

The release folder is named after the task, not the dataset, so a new task needs no entry anywhere:
its release goes to `<task>/`. `--data-root DIR` of eval-suite, probe and conflict means the same
folder; the data recipes and shell recipes spell the same paths with `${SOCIALFUSION_DATA:-data}`,
and a test reads them all back and compares them with the functions here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Union

from .errors import UserInputError

ENV_VAR = "SOCIALFUSION_DATA"
DEFAULT_ROOT = "data"
CONVERTED_DIR = "converted"
GENERAL_DIR = "llava"
GENERAL_FILE = "llava_v1_5_mix665k.json"
RESERVED = (CONVERTED_DIR, GENERAL_DIR)  # folder names a task may not have


def data_root(explicit: Optional[Union[str, Path]] = None, environ: Optional[Mapping[str, str]] = None) -> Path:
    """`explicit` (a --data-root flag) when given, else $SOCIALFUSION_DATA, else ./data."""
    if explicit is not None:
        return Path(explicit)
    environ = os.environ if environ is None else environ
    return Path(environ.get(ENV_VAR) or DEFAULT_ROOT)


@dataclass(frozen=True)
class DataLayout:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def from_env(cls, explicit: Optional[Union[str, Path]] = None) -> "DataLayout":
        return cls(data_root(explicit))

    def release(self, task: str) -> Path:
        """The dataset root of a task: what `convert --root` reads and image paths start from."""
        return self.root / _folder_name(task)

    def converted(self, task: str, split: str) -> Path:
        """Where `convert` writes a task's split (relative image paths, from `release(task)`)."""
        return self.root / CONVERTED_DIR / f"{_folder_name(task)}_{_folder_name(split, 'split')}.json"

    def report(self, task: str, split: str) -> Path:
        """The conversion report beside the converted split."""
        return self.converted(task, split).with_suffix(".report.json")

    @property
    def general_data(self) -> Path:
        return self.root / GENERAL_DIR / GENERAL_FILE

    @property
    def general_images(self) -> Path:
        return self.root / GENERAL_DIR


def _folder_name(name: str, what: str = "task") -> str:
    text = str(name)
    if not text or text in (".", "..") or "/" in text or "\\" in text or (what == "task" and text in RESERVED):
        raise UserInputError(f"{what} name {text!r} cannot name a folder of the data layout")
    return text
