"""Data recipes: which sources make a training mixture, and how much of each.

```yaml
seed: 0                      # required: every random step derives from it
temperature: 2.0             # optional: balances WEIGHTED sources, p_i ~ weight_i * n_i^(1/T)
max_samples: 200             # optional: cap on the final mixture (debugging)
pack_sequences: true         # optional: pack each batch's samples into rows (as --pack_sequences True)
sources:
  - task: gesture            # a registered task, converted from its original release
    root: ${SOCIALFUSION_DATA:-data}/gesture
    split: train
    options: {keep_no_gesture: true}   # the task's options (socialfusion tasks)
    prompts: train           # optional: train|eval wording (default: from the split)
    weight: 1.0              # either a weight ...
  - json: ${SOCIALFUSION_DATA:-data}/llava/llava_v1_5_mix665k.json   # any LLaVA-format JSON list
    image_folder: ${SOCIALFUSION_DATA:-data}/llava
    sample: 20%              # ... or a strategy: all | first:N | random:N | N%
    name: general            # optional: unique source name (default: task name or file stem)
```

Parsing is strict: unknown keys, bad strategies, missing roots/files are errors naming the key
and the file, and text that is not a recipe at all is refused as config_files.py refuses it, with its
line. Relative paths are taken from the current working directory, as LLaVA's scripts do.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from ..config_files import parse_yaml_mapping, reject_unknown_keys
from ..json_records import check_input_file
from ..tasks.geometry import finite_number
from socialfusion_plugin.errors import UserInputError

RECIPE_KEYS = ("seed", "temperature", "max_samples", "pack_sequences", "sources")
TASK_SOURCE_KEYS = ("task", "root", "split", "options", "prompts", "weight", "sample", "name")
JSON_SOURCE_KEYS = ("json", "image_folder", "weight", "sample", "name")
# Only `${VAR}` and `${VAR:-default}` are expanded, so shipped recipes name no cluster paths: a bare
# `$VAR` is left alone, so a literal `$` in a path stays possible.
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
STRATEGY_FORMS = "all, first:N, random:N, N%"
# 100 copies of every record: far past any useful upsampling, and the row list of a large source
# (665K records) still fits in memory. A typo such as 20000000% is an error, not an hour of swapping.
MAX_PERCENT = 10000.0
MAX_COUNT_DIGITS = 15  # first:N / random:N beyond 10^15 records is not a count of any real source
_COUNT = re.compile(r"^(first|random):(\d+)$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")


class RecipeError(UserInputError):
    """A data recipe is malformed; the message names the file and the key."""


class RecipeYamlError(RecipeError, yaml.YAMLError):
    """A recipe file that is not valid YAML for a recipe (a syntax error, a tag): both a RecipeError
    (printed as one line) and, as before, a yaml.YAMLError."""


@dataclass(frozen=True)
class Strategy:
    """How many records a source contributes, as a string: `all`, `first:N`, `random:N`, `N%` (N may
    exceed 100: whole copies plus a seeded random remainder, i.e. upsampling, up to MAX_PERCENT)."""

    kind: str  # all | first | random | percent
    amount: float = 0.0

    def __post_init__(self):
        if self.kind not in ("all", "first", "random", "percent"):
            raise UserInputError(f"unknown strategy kind {self.kind!r}")
        if self.amount < 0:
            raise UserInputError("strategy amount must not be negative")

    def __str__(self) -> str:
        if self.kind == "all":
            return "all"
        if self.kind == "percent":
            return f"{self.amount:g}%"
        return f"{self.kind}:{int(self.amount)}"


def parse_strategy(text, where: str) -> Strategy:
    value = str(text).strip()
    if value == "all":
        return Strategy("all")
    match = _COUNT.match(value)
    if match:
        if len(match.group(2).lstrip("0")) > MAX_COUNT_DIGITS:
            raise RecipeError(f"{where}: {match.group(1)}:N with {len(match.group(2))} digits asks for more "
                              "records than any source holds")
        return Strategy(match.group(1), float(match.group(2)))
    match = _PERCENT.match(value)
    if match:
        percent = float(match.group(1))
        if percent > MAX_PERCENT:
            raise RecipeError(f"{where}: {text!r} is above the largest sampling of {MAX_PERCENT:g}% "
                              f"({MAX_PERCENT / 100:g} copies of every record); for more weight on a source, "
                              "use 'weight' and 'temperature'")
        return Strategy("percent", percent)
    raise RecipeError(f"{where}: bad sampling strategy {text!r}; use one of: {STRATEGY_FORMS}")


@dataclass(frozen=True)
class SourceSpec:
    """One source of a mixture: a task split (converted on demand) or a LLaVA JSON + image folder."""

    name: str
    kind: str  # "task" | "json"
    path: Path  # task: dataset root; json: the JSON file
    image_folder: Path  # where the source's relative image paths start
    task: Optional[str] = None
    split: Optional[str] = None
    options: Dict[str, Any] = field(default_factory=dict)
    prompts: Optional[str] = None
    strategy: Optional[Strategy] = None
    weight: Optional[float] = None
    # Only for a file given to `validate` directly (never from a recipe): absolute image paths are
    # honoured as LLaVA honours them, so `mix`'s default output (absolute paths) can be validated.
    absolute_images: bool = False

    def __post_init__(self):
        if self.kind not in ("task", "json"):
            raise UserInputError(f"source kind must be task or json, got {self.kind!r}")
        if (self.strategy is None) == (self.weight is None):
            raise UserInputError(f"source {self.name}: exactly one of strategy and weight must be set")
        if self.weight is not None and not (self.weight > 0 and math.isfinite(self.weight)):
            raise UserInputError(f"source {self.name}: weight must be a finite number > 0, got {self.weight}")


@dataclass(frozen=True)
class DataRecipe:
    path: Path
    seed: int
    sources: List[SourceSpec]
    temperature: Optional[float] = None
    max_samples: Optional[int] = None
    sha256: str = ""
    pack_sequences: bool = False  # training packs each batch into rows (host/llava/packing/packing.py); data unchanged

    def __post_init__(self):
        if not self.sources:
            raise RecipeError(f"{self.path}: 'sources' lists no source")
        if self.temperature is not None:
            if not (self.temperature > 0 and math.isfinite(self.temperature)):
                raise RecipeError(f"{self.path}: 'temperature' must be a finite number > 0, got {self.temperature}")
            if not any(source.weight is not None for source in self.sources):
                raise RecipeError(f"{self.path}: 'temperature' balances weighted sources, but no source has a weight")
        if self.max_samples is not None and self.max_samples <= 0:
            raise RecipeError(f"{self.path}: 'max_samples' must be a positive integer, got {self.max_samples}")


def load_recipe(path, environ=None) -> DataRecipe:
    path = check_input_file(Path(path), "data recipe", RecipeError)
    raw_text = path.read_bytes()
    data = parse_yaml_mapping(raw_text, path, "data recipe", RECIPE_KEYS, RecipeError, RecipeYamlError)
    if "seed" not in data:
        raise RecipeError(f"{path}: 'seed' is required (every sampling step derives from it)")
    seed = _integer(data["seed"], f"{path}: 'seed'")
    temperature = data.get("temperature")
    if temperature is not None:
        temperature = finite_number(temperature)
        if temperature is None:
            raise RecipeError(f"{path}: 'temperature' must be a finite number > 0, got {data['temperature']!r}")
    max_samples = data.get("max_samples")
    if max_samples is not None:
        max_samples = _integer(max_samples, f"{path}: 'max_samples'")
    pack_sequences = data.get("pack_sequences", False)
    if not isinstance(pack_sequences, bool):
        raise RecipeError(f"{path}: 'pack_sequences' must be true or false, got {pack_sequences!r}")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list):
        raise RecipeError(f"{path}: 'sources' must be a list of sources")
    sources = [_parse_source(raw, index, path, environ) for index, raw in enumerate(raw_sources)]
    names = [source.name for source in sources]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RecipeError(f"{path}: source names must be unique; give a 'name' to the sources called "
                          f"{', '.join(duplicates)}")
    return DataRecipe(path=path, seed=seed, sources=sources, temperature=temperature,
                      max_samples=max_samples, sha256=hashlib.sha256(raw_text).hexdigest(),
                      pack_sequences=pack_sequences)


def _parse_source(raw, index: int, path: Path, environ) -> SourceSpec:
    where = f"{path}: sources[{index}]"
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: a source is a mapping with 'task' or 'json'")
    if ("task" in raw) == ("json" in raw):
        raise RecipeError(f"{where}: a source has exactly one of 'task' (a registered task) or 'json' (a LLaVA JSON)")
    kind = "task" if "task" in raw else "json"
    reject_unknown_keys(raw, TASK_SOURCE_KEYS if kind == "task" else JSON_SOURCE_KEYS, where, RecipeError)
    if "weight" in raw and "sample" in raw:
        raise RecipeError(f"{where}: give either 'weight' or 'sample', not both")
    weight = raw.get("weight")
    if weight is not None:
        weight = finite_number(weight)
        if weight is None or weight <= 0:  # .inf and .nan too: they would turn every share into NaN
            raise RecipeError(f"{where}.weight: must be a positive number (finite), got {raw['weight']!r}")
    strategy = None if weight is not None else parse_strategy(raw.get("sample", "all"), f"{where}.sample")
    fields = _task_fields(raw, where, environ) if kind == "task" else _json_fields(raw, where, environ)
    return SourceSpec(kind=kind, strategy=strategy, weight=weight, **fields)


def _task_fields(raw, where, environ) -> Dict[str, Any]:
    from ..registry import TASKS

    task_name = str(raw["task"])
    try:
        task = TASKS.get(task_name)
    except KeyError as err:
        raise RecipeError(f"{where}.task: {err.args[0] if err.args else task_name}") from None
    for key in ("root", "split"):
        if key not in raw:
            raise RecipeError(f"{where}: a task source needs '{key}'")
    root = _path(raw["root"], f"{where}.root", environ)
    if not root.is_dir():
        raise FileNotFoundError(f"{where}.root: dataset root {root} does not exist or is not a folder")
    split = str(raw["split"])
    if split not in task.splits:
        raise RecipeError(f"{where}.split: task {task_name} has no split {split!r}; splits: {', '.join(task.splits)}")
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise RecipeError(f"{where}.options: must be a mapping of task options")
    task.options(options, where=f"{where}.options")  # unknown or badly typed options fail here, naming the key
    prompts = raw.get("prompts")
    if prompts is not None and prompts not in ("train", "eval"):
        raise RecipeError(f"{where}.prompts: must be train or eval, got {prompts!r}")
    return dict(name=str(raw.get("name", task_name)), path=root, image_folder=root, task=task_name, split=split,
                options=dict(options), prompts=prompts)


def _json_fields(raw, where, environ) -> Dict[str, Any]:
    json_path = _path(raw["json"], f"{where}.json", environ)
    if json_path.is_dir():
        raise RecipeError(f"{where}.json: {json_path} is a folder, not a LLaVA JSON file")
    if not json_path.is_file():
        raise FileNotFoundError(f"{where}.json: LLaVA JSON {json_path} not found")
    if "image_folder" not in raw:
        raise RecipeError(f"{where}: a json source needs 'image_folder' (where its image paths start)")
    image_folder = _path(raw["image_folder"], f"{where}.image_folder", environ)
    if not image_folder.is_dir():
        raise FileNotFoundError(f"{where}.image_folder: image folder {image_folder} does not exist")
    return dict(name=str(raw.get("name", json_path.stem)), path=json_path, image_folder=image_folder)


def expand_variables(text: str, where: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """`text` with `${VAR}` and `${VAR:-default}` expanded; an unset variable without a default is an
    error naming `where`, never an empty string that would silently point somewhere else."""
    environ = os.environ if environ is None else environ

    def replace(match: "re.Match[str]") -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value:  # as the shell's ':-': an empty variable also takes the default
            return value
        if default is not None:
            return default
        raise RecipeError(f"{where}: environment variable {name} is not set and has no default "
                          f"(write ${{{name}:-default}} or export {name})")

    return _VARIABLE.sub(replace, text)


def _path(value, where: str, environ) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise RecipeError(f"{where}: must be a path string")
    return Path(os.path.abspath(os.path.expanduser(expand_variables(value, where, environ))))


def _integer(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecipeError(f"{where} must be an integer, got {value!r}")
    return value

