"""`socialfusion eval-suite` (and `eval`, which is eval-suite with one task): one checkpoint, every
task of a suite, predictions per task.

For each task, in suite order: predictions into RUN/eval/<task>.preds.jsonl (or the entry's own file),
resumed when the same evaluation wrote part of it (output_guard.py), by one process or shared by
several (suite_processes.py, suite_shards.py). `eval-suite` then scores them all and writes the
results table (suite_results.py). The model is loaded once, and only when some task still has
records to predict.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from .. import registry
from ..host_interface import InferenceHost
from .layout import RunLayout
from .output_guard import claim_output, exclusive_output
from .prediction_file import scan_predictions
from .rank_policy import rank_policy
from .records import load_records
from .run_info import EvalRun, eval_info, weights_dtype
from .runner import DecodingSettings, EvalSettings, decoding_values, run_eval
from .suite_config import Suite, SuiteEntry
from .suite_processes import Processes, shard_batches
from .suite_shards import check_shards, done_in_shards, existing_shards, merge_shards, shard_path

WEIGHT_DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True, kw_only=True)
class SuiteSettings(DecodingSettings):
    """The one settings object of `eval` and `eval-suite`: how every task is decoded, which checkpoint,
    where it runs and where outputs go. The fields with help are both commands' flags
    (cli/dataclass_flags.py); the commands resolve `device` (None: the default device) before use."""

    model_path: Path = field(metadata={"help": "LoRA run, merged/full checkpoint or base model"})
    model_base: Optional[str] = field(default=None, metadata={
        "help": "base language model of a LoRA (or connector-only) checkpoint"})
    run_dir: Path  # eval-suite: --out (default --model-path), receiving eval/; eval: the folder of --out
    device: Optional[str] = field(default=None, metadata={
        "help": "cpu, cuda, cuda:1, ... (default: cuda when available, one GPU per process under a launcher; "
                "else cpu)"})
    dtype: Optional[str] = field(default=None, metadata={
        "choices": WEIGHT_DTYPES,
        "help": "dtype the weights are loaded in (default: float32 on cpu, float16 on cuda as LLaVA)"})
    overwrite: bool = field(default=False, metadata={
        "help": "discard predictions made another way (in --out or the run folder) and predict afresh"})
    progress: bool = True

    def eval_settings(self, mode: str) -> EvalSettings:
        return EvalSettings(mode=mode, **decoding_values(self))


class LazyModel:
    """The checkpoint on `host`, loaded on first use (a rerun whose tasks are all done loads nothing)."""

    def __init__(self, settings: SuiteSettings, host: InferenceHost):
        self.settings = settings
        self.host = host
        self._loaded = None

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
    summaries = []
    for entry in suite.entries:
        summaries.append(_evaluate_task(entry, settings, processes, kind, model, echo))
    return summaries


def _evaluate_task(entry: SuiteEntry, settings: SuiteSettings, processes: Processes, kind: str, model: LazyModel,
                   echo) -> Dict[str, Any]:
    task = registry.TASKS.get(entry.task)
    opts = task.options(entry.options)
    policy = rank_policy(task, opts, settings.multi_label_threshold) if entry.mode == "rank" else None
    records = [r for r in load_records(entry.data) if (r.get("meta") or {}).get("task", entry.task) == entry.task]
    if not records:
        from ..errors import UserInputError

        raise UserInputError(f"{entry.data}: no records of task {entry.task!r}")
    chosen = records[: entry.limit] if entry.limit else records
    merged = entry.predictions or RunLayout(settings.run_dir).predictions(entry.task)
    folder = merged.parent  # holds shards/ of a many-process run
    info = eval_info(EvalRun(
        task=entry.task, mode=entry.mode, data=entry.data, image_folder=entry.image_folder,
        task_options=entry.options, resolved_options=dataclasses.asdict(opts), model_path=settings.model_path,
        model_base=settings.model_base, checkpoint_kind=kind, conv_mode=settings.conv_mode,
        max_new_tokens=settings.max_new_tokens, temperature=settings.temperature, seed=settings.seed,
        multi_label_threshold=settings.multi_label_threshold, limit=entry.limit,
        dtype=weights_dtype(model.host, settings.device, settings.dtype)))
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
    eval_settings = settings.eval_settings(entry.mode)
    progress = settings.progress and processes.is_main
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
        return run_eval(mine, entry.data, entry.image_folder, out, eval_settings, generate=generate, rank=rank,
                        policy=policy, progress=progress).dropped_truncated_line


def model_calls(host: InferenceHost, loaded, conv_mode: str, max_new_tokens: int, temperature: float, seed: int,
                policy):
    """The two calls an evaluation makes into a loaded model, bound to the decoding settings:
    (generate, rank); rank (scores every option) is None when `policy` is None (free answers)."""
    generate = partial(host.generate, loaded, conv_mode=conv_mode, max_new_tokens=max_new_tokens,
                       temperature=temperature, seed=seed)
    rank = None
    if policy is not None:
        rank = host.option_loglikelihoods(loaded, policy.options, conv_mode, complete=policy.complete)
    return generate, rank
