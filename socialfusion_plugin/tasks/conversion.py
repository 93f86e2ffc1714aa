"""Turn a task's Samples into LLaVA records and stream them to one JSON file, with a report.

Record layout (what `socialfusion convert` writes, one JSON list):
    {"id": "<task>/<split>/<sample id>",
     "image": "<path relative to --root, or absolute with --absolute-paths>",
     "conversations": [{"from": "human", "value": "<image>\\n<prompt>"}, {"from": "gpt", "value": "<answer>"}],
     "meta": {"task": "<task>", "split": "<split>", ...structured ground truth}}

Records are written one at a time, so memory does not grow with the number of records.
A record is never written with a value JSON cannot hold (NaN, infinity) or a name that is not
UTF-8, and never twice under one id: such a sample becomes a counted skip, so converted + skipped
still equals read.

Prompt wordings are data: each task has a `prompts.yaml` next to its module,
    train:            # paraphrases; one is chosen per sample from (seed, sample id)
      - "Which gesture is shown in the picture? ..."
    eval: "Which gesture ..."   # one fixed wording for evaluation
whose templates use `{name}` fields filled from `Sample.prompt_fields`; the `<image>` token is added
here, never written in the file.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from ..atomic_files import atomic_json_list, atomic_write_json
from ..config_files import read_yaml_mapping
from ..errors import UserInputError
from ..progress import progress_bar
from ..registry import TASKS
from .base import Sample, Skip, Task, TaskOptions
from .part_workers import ordered_results, sigterm_unwinds

IMAGE_TOKEN = "<image>"
# one encoder, not one per record as json.dumps makes; allow_nan=False: `NaN`/`Infinity` are not JSON
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
PROMPT_MODES = ("train", "eval")


class PromptFileError(UserInputError):
    """A task's prompts.yaml is malformed."""


@dataclass(frozen=True)
class PromptSet:
    train: tuple
    eval: str
    source: str

    @classmethod
    def load(cls, path: Path) -> "PromptSet":
        data = read_yaml_mapping(path, "prompt file", PROMPT_MODES, PromptFileError)
        train, evaluation = data.get("train"), data.get("eval")
        if not isinstance(train, list) or not train or not all(isinstance(t, str) and t.strip() for t in train):
            raise PromptFileError(f"{path}: 'train' must be a non-empty list of non-empty strings")
        if not isinstance(evaluation, str) or not evaluation.strip():
            raise PromptFileError(f"{path}: 'eval' must be a non-empty string")
        for template in list(train) + [evaluation]:
            if IMAGE_TOKEN in template:
                raise PromptFileError(f"{path}: templates must not contain <image>; it is added for you")
        return cls(train=tuple(t.strip() for t in train), eval=evaluation.strip(), source=str(path))

    def fields(self) -> List[str]:
        names = set()
        for template in self.train + (self.eval,):
            names.update(f for _, f, _, _ in string.Formatter().parse(template) if f)
        return sorted(names)

    def render(self, mode: str, sample_id: str, seed: int, fields: Mapping[str, str]) -> str:
        """The sample's prompt in `mode` (one of PROMPT_MODES, checked by the caller). Its template is
        fixed in eval mode; in train mode it is picked from a hash of (seed, sample id), so the choice
        does not depend on record order or process."""
        if mode == "eval":
            template = self.eval
        else:
            digest = hashlib.sha256(f"{seed}:{sample_id}".encode()).digest()
            template = self.train[int.from_bytes(digest[:8], "big") % len(self.train)]
        try:
            return template.format(**fields)
        except KeyError as missing:
            raise PromptFileError(
                f"{self.source}: template uses field {missing} that the task does not provide "
                f"(provided: {', '.join(sorted(fields)) or 'none'})"
            ) from None


_CACHE: Dict[str, PromptSet] = {}


def load_prompts(path: Path) -> PromptSet:
    key = str(Path(path).resolve())
    if key not in _CACHE:
        _CACHE[key] = PromptSet.load(path)
    return _CACHE[key]


@dataclass
class ConversionReport:
    task: str
    split: str
    root: str
    options: Dict[str, Any]
    read: int = 0
    converted: int = 0
    skipped: int = 0
    skip_reasons: Counter = field(default_factory=Counter)
    skipped_records: List[Dict[str, str]] = field(default_factory=list)

    def add_skip(self, skip: Skip) -> None:
        self.read += 1
        self.skipped += 1
        self.skip_reasons[skip.reason] += 1
        entry = {"ref": skip.ref, "reason": skip.reason}
        self.skipped_records.append({**entry, "detail": skip.detail} if skip.detail else entry)

    def add_converted(self) -> None:
        self.read += 1
        self.converted += 1

    def to_json(self) -> Dict[str, Any]:
        assert self.converted + self.skipped == self.read
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**fields, "skip_reasons": dict(sorted(self.skip_reasons.items()))}

    def summary(self) -> str:
        lines = [f"{self.task}/{self.split}: read {self.read}, converted {self.converted}, skipped {self.skipped}"]
        lines += [f"  skipped {count}: {reason}"
                  for reason, count in sorted(self.skip_reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
        return "\n".join(lines)


def build_record(task: Task, sample: Sample, split: str, options: TaskOptions, prompt_mode: str, seed: int,
                 image_root: Optional[Path], prompts: PromptSet) -> Dict[str, Any]:
    """One LLaVA record. `image_root` set -> absolute image path (for --absolute-paths)."""
    question = prompts.render(prompt_mode, sample.id, seed, sample.prompt_fields)
    return {
        "id": f"{task.name}/{split}/{sample.id}",
        "image": sample.image if image_root is None else str((Path(image_root) / sample.image).resolve()),
        "conversations": [
            {"from": "human", "value": f"{IMAGE_TOKEN}\n{question}"},
            {"from": "gpt", "value": task.format_answer(sample.target, options)},
        ],
        "meta": {"task": task.name, "split": split, **sample.target},
    }


def default_prompt_mode(split: str) -> str:
    return "train" if split == "train" else "eval"


def convert(task: Task, root: Path, split: str, out: Path, options: Optional[Mapping[str, Any]] = None,
            report_path: Optional[Path] = None, absolute_paths: bool = False, prompt_mode: Optional[str] = None,
            seed: int = 0, progress: bool = True, workers: int = 1, write_empty: bool = True) -> ConversionReport:
    """Convert one split of a task's original release into a LLaVA JSON file.

    workers > 1 reads the split's independent parts (Task.read_parts) in that many processes; the
    output is byte-identical to a sequential run, since parts are written back in their order.
    Terminating the process (SIGTERM) or interrupting it stops the workers too.
    write_empty=False: when no record is converted, `out` is not written (an earlier file there is
    left as it was); the report is still written, and says why every record was skipped. The
    `convert` command uses it; a mixture's cache keeps an empty source as an empty list."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root {root} does not exist or is not a folder")
    if split not in task.splits:
        raise UserInputError(f"task {task.name} has no split {split!r}; splits: {', '.join(task.splits)}")
    opts = task.options(options)
    mode = prompt_mode or default_prompt_mode(split)
    if mode not in PROMPT_MODES:
        raise UserInputError(f"prompt mode must be one of {PROMPT_MODES}, got {mode!r}")
    report = ConversionReport(task=task.name, split=split, root=str(root), options=dataclasses.asdict(opts))
    settings = _PartSettings(task.name, str(root), split, opts, mode, seed, absolute_paths)
    seen_ids = set()
    with sigterm_unwinds():
        parts = task.read_parts(root, split, opts) if workers > 1 else None
        entries = (ordered_results(_convert_part, settings, parts, workers) if parts
                   else _encode_items(task, settings, task.read(root, split, opts)))
        # closing: on an error the workers stop now, not when the traceback lets go of the generator
        with contextlib.closing(entries), atomic_json_list(out) as write:
            with progress_bar(enabled=progress, description=f"convert {task.name}/{split}", unit=" records") as bar:
                for entry in entries:
                    bar.update(1)
                    if isinstance(entry, Skip):
                        report.add_skip(entry)
                        continue
                    sample_id, ref, text = entry
                    if sample_id in seen_ids:  # the first is kept, so a join by id stays unambiguous
                        report.add_skip(Skip(ref, "duplicate sample id", detail=sample_id))
                        continue
                    seen_ids.add(sample_id)
                    write(text)
                    report.add_converted()
            if report.converted == 0 and not write_empty:
                write.discard()
    if report_path is not None:
        atomic_write_json(report_path, report.to_json())
    return report


@dataclass(frozen=True)
class _PartSettings:
    """What a worker needs to turn items into record text (picklable; the task is looked up by name)."""

    task: str
    root: str
    split: str
    options: TaskOptions
    prompt_mode: str
    seed: int
    absolute_paths: bool


def _encode_items(task: Task, settings: _PartSettings, items):
    """Samples become (id, ref, record JSON text); skips pass through."""
    prompts = load_prompts(task.prompts_file)
    image_root = Path(settings.root) if settings.absolute_paths else None
    for item in items:
        if isinstance(item, Skip):
            yield item
            continue
        record = build_record(task, item, settings.split, settings.options, settings.prompt_mode, settings.seed,
                              image_root, prompts)
        ref = item.ref or item.id
        try:
            text = _ENCODER.encode(record)
        except ValueError:
            where = non_finite_path(record)
            if where is None:
                raise  # not a value of the data: a bug, shown as one
            yield Skip(ref, "non-finite value", detail=where)
            continue
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as err:  # a file or folder name with bytes that are not UTF-8
                yield Skip(ref, "name not UTF-8", detail=repr(err.object[max(0, err.start - 40):err.end + 10]))
                continue
        yield item.id, ref, text


def non_finite_path(value: Any, where: str = "record") -> Optional[str]:
    """'record.meta.vad.valence = inf' for the first NaN or infinity inside `value`, else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} = {value!r}"
    if isinstance(value, dict):
        items = ((f"{where}.{key}", item) for key, item in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{where}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    return next((found for path, item in items if (found := non_finite_path(item, path)) is not None), None)


def _convert_part(settings: _PartSettings, part) -> List:
    task = TASKS.get(settings.task)
    items = task.read_part(Path(settings.root), settings.split, settings.options, part)
    return list(_encode_items(task, settings, items))
