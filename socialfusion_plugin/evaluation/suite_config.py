"""What `socialfusion eval-suite` evaluates: a list of task entries, from task names, `all`, or a
suite YAML that pins each task's split, options, mode and files.

    # suite.yaml (read by config_files.py: unknown keys are errors naming the file and the key)
    data_root: ${SOCIALFUSION_DATA:-data}   # optional; the data layout's root (data_layout.py)
    tasks:
      - task: gesture                       # a registered task
        split: test                         # default: test
        mode: rank                          # generate | rank; default: rank where the task has options to rank
        options: {keep_no_gesture: true}    # the task's options
        data: other/gesture_test.json       # default: DATA_ROOT/converted/<task>_<split>.json
        image_folder: other/gesture         # default: DATA_ROOT/<task>
        limit: 200                          # optional: only the first N records
      - relation                            # a bare name takes every default

Paths in the file may use `${VAR}` / `${VAR:-default}`; relative ones start from the current directory.
A task may appear once: its outputs are RUN/eval/<task>.* and two entries would write the same files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .. import registry
from ..config_files import read_yaml_mapping, reject_unknown_keys
from ..data.env_expand import expand_variables
from ..data_layout import DataLayout, data_root
from ..errors import UserInputError
from .runner import MODES

SUITE_KEYS = ("data_root", "tasks")
ENTRY_KEYS = ("task", "split", "mode", "options", "data", "image_folder", "limit")


class SuiteError(UserInputError):
    """A suite that cannot run; the message names the file (or flag) and the entry or key."""


def ranks_by_default(task) -> bool:
    """Whether the suite evaluates `task` in rank mode unless told otherwise: its answer space has
    options to rank (a closed label set, or a closed part of its answer such as in/out of frame)."""
    return bool(task.answer_space.rank_answers(task.options()))


@dataclass(frozen=True)
class SuiteEntry:
    task: str
    data: Path
    image_folder: Optional[Path]  # None: image paths are absolute or relative to the current directory
    split: str = "test"
    mode: str = "generate"
    options: Dict[str, Any] = field(default_factory=dict)
    limit: Optional[int] = None
    predictions: Optional[Path] = None  # `eval --out`; None: RUN/eval/<task>.preds.jsonl

    def __post_init__(self):
        if self.mode not in MODES:
            raise SuiteError(f"task {self.task}: mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.limit is not None and (isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1):
            raise SuiteError(f"task {self.task}: limit must be an integer >= 1, got {self.limit!r}")


@dataclass(frozen=True)
class Suite:
    entries: List[SuiteEntry]
    source: str  # the file or flag the entries came from (for messages and the results table)

    def __post_init__(self):
        if not self.entries:
            raise SuiteError(f"{self.source}: no task to evaluate")
        seen = set()
        for entry in self.entries:
            if entry.task in seen:
                raise SuiteError(f"{self.source}: task {entry.task} is listed twice (its outputs are "
                                 f"RUN/eval/{entry.task}.*); evaluate the other variant into another run folder")
            seen.add(entry.task)

    @property
    def names(self) -> List[str]:
        return [entry.task for entry in self.entries]


def entry_for(task_name: str, layout: DataLayout, split: str = "test", mode: Optional[str] = None,
              options: Optional[Mapping[str, Any]] = None, data: Optional[Path] = None,
              image_folder: Optional[Path] = None, limit: Optional[int] = None, where: str = "--tasks") -> SuiteEntry:
    task = registry.TASKS.get(task_name)
    if split not in task.splits:
        raise SuiteError(f"{where}: task {task.name} has no split {split!r} (splits: {', '.join(task.splits)})")
    options = dict(options or {})
    task.options(options, where=f"{where}: task {task.name}")  # bad options fail before any model loads
    if mode is None:
        mode = "rank" if ranks_by_default(task) else "generate"
    elif mode == "rank" and not ranks_by_default(task):
        raise SuiteError(f"{where}: task {task.name} has no answer options to rank; evaluate it with mode generate")
    return SuiteEntry(task=task.name, split=split, mode=mode, options=options, limit=limit,
                      data=Path(data) if data is not None else layout.converted(task.name, split),
                      image_folder=Path(image_folder) if image_folder is not None else layout.release(task.name))


def suite_from_names(names: Sequence[str], layout: DataLayout, mode: Optional[str] = None,
                     options: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Suite:
    """`all` (every registered task) or task names; `mode` forces one mode on every task. `all` with an
    installed task plugin that failed to load is refused: its tasks would be silently missing."""
    if list(names) == ["all"]:
        from ..tasks.plugins import broken_task_plugins

        broken = broken_task_plugins()
        if broken:
            raise SuiteError("--tasks all: every registered task, but " + "; ".join(p.problem for p in broken)
                             + "; fix or uninstall the plugin, or name the tasks to evaluate (--tasks T1 T2 ...)")
    chosen = registry.list_tasks() if list(names) == ["all"] else list(names)
    if "all" in chosen:
        raise SuiteError("--tasks: 'all' stands alone (it means every registered task)")
    options = dict(options or {})
    stray = sorted(set(options) - set(chosen))
    if stray:
        raise SuiteError(f"--option names task(s) {', '.join(stray)}, which are not evaluated (--tasks {' '.join(chosen)})")
    return Suite([entry_for(name, layout, mode=mode, options=options.get(name)) for name in chosen], "--tasks")


def load_suite(path: Path, explicit_root: Optional[Path] = None, environ: Optional[Mapping[str, str]] = None) -> Suite:
    path = Path(path)
    raw = read_yaml_mapping(path, "suite file", SUITE_KEYS, SuiteError)
    root = explicit_root
    if root is None and raw.get("data_root") is not None:
        root = Path(expand_variables(str(raw["data_root"]), f"{path}: data_root", environ))
    layout = DataLayout(data_root(root, environ))
    tasks = raw.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise SuiteError(f"{path}: 'tasks' must be a non-empty list")
    return Suite([_entry(item, index, path, layout, environ) for index, item in enumerate(tasks)], str(path))


def _entry(item, index: int, path: Path, layout: DataLayout, environ) -> SuiteEntry:
    where = f"{path}: tasks[{index}]"
    if isinstance(item, str):
        item = {"task": item}
    if not isinstance(item, dict) or "task" not in item:
        raise SuiteError(f"{where}: an entry is a task name or a mapping with 'task'")
    reject_unknown_keys(item, ENTRY_KEYS, where, SuiteError)
    options = item.get("options") or {}
    if not isinstance(options, dict):
        raise SuiteError(f"{where}.options: a mapping of option names to values")

    def file(key):
        value = item.get(key)
        return None if value is None else Path(expand_variables(str(value), f"{where}.{key}", environ))

    try:
        return entry_for(str(item["task"]), layout, split=str(item.get("split", "test")), mode=item.get("mode"),
                         options=options, data=file("data"), image_folder=file("image_folder"),
                         limit=item.get("limit"), where=where)
    except SuiteError as err:
        message = str(err)
        raise SuiteError(message if message.startswith(str(path)) else f"{where}: {message}") from None
    except registry.RegistryError as err:
        raise SuiteError(f"{where}.task: {err}") from None

