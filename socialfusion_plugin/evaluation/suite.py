"""`socialfusion eval-suite` (and `eval`, which is eval-suite with one task): one checkpoint, every
task of a suite, predictions per task.

For each task, in suite order: predictions into RUN/eval/<task>.preds.jsonl (or the entry's own file),
resumed when the same evaluation wrote part of it (prediction_file.py), by one process or shared by
several (suite_processes.py). The model is loaded once, and only when some task still has records
to predict. `eval-suite` then scores them all and writes the results table: one row per task (its
primary metric, counts, mode, split) with what produced it (the command, the checkpoint's
fingerprint, package versions), as RUN/eval/results.json, results.md and results.csv.

What it evaluates: a list of task entries, from task names, `all`, or a suite YAML that pins each
task's split, options, mode and files.

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

import contextlib
import csv
import dataclasses
import io
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from .. import registry
from ..atomic_files import atomic_write_json, atomic_write_text
from ..config_files import read_yaml_mapping, reject_unknown_keys
from ..data.recipe import expand_variables
from ..data_layout import DataLayout, data_root
from ..errors import UserInputError
from ..host_interface import InferenceHost
from .layout import RunLayout
from .prediction_file import claim_output, exclusive_output, scan_predictions
from .provenance import eval_info, software_versions, versions_text, weights_dtype, weights_fingerprint
from .rank_policy import rank_policy
from .records import load_records
from .report import n_text, value_text
from .runner import MODES, DecodingSettings, EvalSettings, decoding_values, run_eval
from .suite_processes import (Processes, check_shards, done_in_shards, existing_shards, merge_shards, shard_batches,
                              shard_path)

SUITE_KEYS = ("data_root", "tasks")
ENTRY_KEYS = ("task", "split", "mode", "options", "data", "image_folder", "limit")
# limit / available: a limited evaluation scored the first `limit` of the `available` records
CSV_COLUMNS = ("task", "split", "mode", "n", "limit", "available", "unparsed", "missing", "extra", "metric",
               "higher_is_better", "value", "predictions", "data")


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
        if self.limit is not None and (isinstance(self.limit, bool) or not isinstance(self.limit, int)
                                       or self.limit < 1):
            raise SuiteError(f"task {self.task}: limit must be an integer >= 1, got {self.limit!r}")


@dataclass(frozen=True)
class Suite:
    entries: List[SuiteEntry]
    source: str  # the file or flag the entries came from (for messages and the results table)

    def __post_init__(self):
        if not self.entries:
            raise SuiteError(f"{self.source}: no task to evaluate")
        for index, entry in enumerate(self.entries):
            if entry.task in self.names[:index]:
                raise SuiteError(f"{self.source}: task {entry.task} is listed twice (its outputs are "
                                 f"RUN/eval/{entry.task}.*); evaluate the other variant into another run folder")

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
        from ..tasks import broken_task_plugins

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
        raise SuiteError(f"--option names task(s) {', '.join(stray)}, which are not evaluated "
                         f"(--tasks {' '.join(chosen)})")
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


@dataclass(frozen=True, kw_only=True)
class SuiteSettings(DecodingSettings):
    """The one settings object of `eval` and `eval-suite`: how every task is decoded, which checkpoint,
    where it runs and where outputs go. The fields with help are both commands' flags
    (cli/flags.py); the commands resolve `device` (None: the default device) before use."""

    model_path: Path = field(metadata={"help": "LoRA run, merged/full checkpoint or base model"})
    model_base: Optional[str] = field(default=None, metadata={
        "help": "base language model of a LoRA (or connector-only) checkpoint"})
    run_dir: Path  # eval-suite: --out (default --model-path), receiving eval/; eval: the folder of --out
    overwrite: bool = field(default=False, metadata={
        "help": "discard predictions made another way (in --out or the run folder) and predict afresh"})
    progress: bool = True

    def eval_settings(self, mode: str) -> EvalSettings:
        return EvalSettings(mode=mode, **decoding_values(self))


@dataclass
class LazyModel:
    """The checkpoint on `host`, loaded on first use (a rerun whose tasks are all done loads nothing)."""

    settings: SuiteSettings
    host: InferenceHost
    _loaded: Any = None

    def get(self):
        if self._loaded is None:
            self._loaded = self.host.load(self.settings.model_path, self.settings.model_base,
                                          device=self.settings.device, dtype=self.settings.dtype)
        return self._loaded


def evaluate_suite(suite: Suite, settings: SuiteSettings, processes: Processes, host: InferenceHost,
                   echo: Callable[[str], None] = print) -> List[Dict[str, Any]]:
    """Predict every task of the suite on `host`; returns one summary per task (on every process).
    Notes and per-task lines go to `echo` on the first process only."""
    kind = host.checkpoint_kind(settings.model_path, settings.model_base)
    model = LazyModel(settings, host)
    return [_evaluate_task(entry, settings, processes, kind, model, echo) for entry in suite.entries]


def _evaluate_task(entry: SuiteEntry, settings: SuiteSettings, processes: Processes, kind: str, model: LazyModel,
                   echo) -> Dict[str, Any]:
    task = registry.TASKS.get(entry.task)
    opts = task.options(entry.options)
    policy = rank_policy(task, opts, settings.multi_label_threshold) if entry.mode == "rank" else None
    records = [r for r in load_records(entry.data) if (r.get("meta") or {}).get("task", entry.task) == entry.task]
    if not records:
        raise UserInputError(f"{entry.data}: no records of task {entry.task!r}")
    chosen = records[: entry.limit] if entry.limit else records
    merged = entry.predictions or RunLayout(settings.run_dir).predictions(entry.task)
    folder = merged.parent  # holds shards/ of a many-process run
    info = eval_info(entry, settings, dataclasses.asdict(opts), kind,
                     weights_dtype(model.host, settings.device, settings.dtype))
    with contextlib.ExitStack() as held:
        with processes.step(f"checking the outputs of {entry.task}"):
            if processes.is_main:
                held.enter_context(exclusive_output(merged))
                notes = [claim_output(merged, info, overwrite=settings.overwrite)]
                notes += check_shards(folder, entry.task, info["provenance"], settings.overwrite)
                for note in filter(None, notes):
                    echo(note)
        with processes.step(f"reading the predictions of {entry.task} made so far"):
            done = scan_predictions(merged)[0] | done_in_shards(folder, entry.task)
            todo = [r for r in chosen if str(r["id"]) not in done]
            direct = not processes.distributed and not existing_shards(folder, entry.task)
        with processes.step(f"predicting {entry.task}"):
            cut_line = bool(todo) and _predict(entry, todo, settings, processes, policy, model, info, merged, direct)
        with processes.step(f"merging the predictions of {entry.task}"):
            if processes.is_main and not direct:
                merge_shards(folder, entry.task, [str(r["id"]) for r in chosen], merged)
    summary = {"task": entry.task, "mode": entry.mode, "records": len(chosen), "already_done": len(chosen) - len(todo),
               "predicted": len(todo), "predictions": str(merged)}
    if processes.is_main:
        extra = " (a truncated last line was dropped and predicted again)" if cut_line else ""
        echo(f"{entry.task} ({entry.mode}): {len(todo)} predicted, {summary['already_done']} already done, "
             f"{len(chosen)} records{extra} -> {merged}")
    return summary


def _predict(entry, todo, settings: SuiteSettings, processes: Processes, policy, model: LazyModel, info,
             merged: Path, direct: bool) -> bool:
    """Predict this process's share of `todo`; whether a truncated last line was cut from its file."""
    if direct:
        out, mine = merged, todo
    else:
        out = shard_path(merged.parent, entry.task, processes.rank, processes.world_size)
        mine = shard_batches(todo, settings.batch_size, processes.rank, processes.world_size)
    if not mine:
        return False
    generate, rank = model_calls(model.host, model.get(), settings.conv_mode, settings.max_new_tokens,
                                 settings.temperature, settings.seed, policy)
    with contextlib.ExitStack() as held:
        if not direct:
            held.enter_context(exclusive_output(out))
            claim_output(out, {**info, "shard": {"rank": processes.rank, "world_size": processes.world_size}})
        summary = run_eval(mine, entry.data, entry.image_folder, out, settings.eval_settings(entry.mode), generate,
                           rank, policy, progress=settings.progress and processes.is_main)
        return summary.dropped_truncated_line


def model_calls(host: InferenceHost, loaded, conv_mode: str, max_new_tokens: int, temperature: float, seed: int,
                policy):
    """The two calls an evaluation makes into a loaded model, bound to the decoding settings:
    (generate, rank); rank (scores every option) is None when `policy` is None (free answers)."""
    generate = partial(host.generate, loaded, conv_mode=conv_mode, max_new_tokens=max_new_tokens,
                       temperature=temperature, seed=seed)
    rank = (None if policy is None
            else host.option_loglikelihoods(loaded, policy.options, conv_mode, complete=policy.complete))
    return generate, rank


def results_table(suite: Suite, report: Mapping[str, Any], command: str, model_path: Path, model_base,
                  world_size: int) -> Dict[str, Any]:
    rows: List[Dict[str, Any]] = []
    for entry in suite.entries:
        scored = report["tasks"][entry.task]
        rows.append({
            "task": entry.task, "split": entry.split, "mode": entry.mode, "n": scored["n"],
            "unparsed": scored["unparsed"], "missing": scored["missing"], "extra": scored["extra"],
            "metric": scored["primary_metric"], "higher_is_better": scored["higher_is_better"],
            "value": scored["primary_value"], "metrics": scored["metrics"],
            "predictions": f"{entry.task}.preds.jsonl", "data": str(Path(entry.data).resolve()),
            "options": dict(entry.options), "limit": entry.limit, "available": scored.get("available"),
        })
    return {
        "command": command, "suite": suite.source,
        "checkpoint": {"model_path": str(Path(model_path).resolve()),
                       "model_path_weights": weights_fingerprint(model_path),
                       "model_base": str(Path(model_base).resolve()) if model_base else None,
                       "model_base_weights": weights_fingerprint(model_base)},
        "versions": software_versions(), "processes": world_size, "rows": rows,
    }


def results_markdown(table: Mapping[str, Any]) -> str:
    checkpoint = table["checkpoint"]
    lines = ["# Evaluation results", "", f"Checkpoint: `{checkpoint['model_path']}`"
             + (f" on base `{checkpoint['model_base']}`" if checkpoint["model_base"] else ""), "",
             "| task | split | mode | n | metric | value | unparsed | missing |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in table["rows"]:
        arrow = "↑" if row["higher_is_better"] else "↓"
        lines.append(f"| {row['task']} | {row['split']} | {row['mode']} | {n_text(row)} | {row['metric']} {arrow} | "
                     f"{value_text(row['value'])} | {row['unparsed']} | {row['missing']} |")
    weights = checkpoint["model_path_weights"]
    lines += ["", "## Provenance", "", f"- command: `{table['command']}`", f"- suite: {table['suite']}",
              f"- processes: {table['processes']}"]
    if isinstance(weights, dict):
        lines += [f"- weights: `{name}` {fingerprint}" for name, fingerprint in weights.items()]
    lines.append("- versions: " + versions_text(table["versions"]))
    return "\n".join(lines) + "\n"


def results_csv(table: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in table["rows"]:
        writer.writerow({key: ("" if row[key] is None else row[key]) for key in CSV_COLUMNS})
    return buffer.getvalue()


def write_results(table: Mapping[str, Any], run_dir: Path) -> Dict[str, Path]:
    paths = {kind: RunLayout(run_dir).eval_dir / f"results.{kind}" for kind in ("json", "md", "csv")}
    atomic_write_json(paths["json"], table)
    atomic_write_text(paths["md"], results_markdown(table))
    atomic_write_text(paths["csv"], results_csv(table))
    return paths
