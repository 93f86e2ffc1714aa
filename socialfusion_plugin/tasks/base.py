"""The contract every social task implements.

A task reads the ORIGINAL release files of its dataset and yields `Sample`s (or `Skip`s with a
reason), turns a structured ground truth into a short answer text, parses model answers back into
structured predictions, and computes the dataset's reference metrics. Prompt wordings are data
(`prompts.yaml` next to the task module), never code. Registration checks the declarations
(`check_task`), so that a task missing one fails when it is added, naming the task and what is
missing, instead of failing later inside `eval`, `report` or `probe`.

The shared machinery (conversation building, streaming JSON output, reports, scoring I/O) lives in
`tasks/conversion.py` and `evaluation/scoring.py`, so a task module holds only what differs per dataset.
"""
from __future__ import annotations

import dataclasses
import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ..config_files import dataclass_from_mapping
from ..errors import UserInputError
from .answer_space import KINDS, AnswerSpace


@dataclass
class Sample:
    """One converted example, before it becomes a LLaVA record."""

    id: str  # stable, unique within the split (used to join predictions to references)
    image: str  # path RELATIVE to the dataset root, '/'-separated, already checked to stay inside it
    prompt_fields: Dict[str, str]  # substituted into the prompt templates (e.g. {"box": "[0.12, 0.30, 0.45, 0.88]"})
    target: Dict[str, Any]  # structured ground truth; stored as record["meta"] (plus "task") and used by score()
    # Where the record is ("<file>:<line or key>"), for the report when the sample is skipped after
    # reading (a repeated id, a non-finite value); default: the id.
    ref: str = ""


@dataclass
class Skip:
    """A source record that was read but not converted, with the reason (counted in the report)."""

    ref: str  # where the record is: "<file>:<line or key>"
    reason: str  # a short, stable reason ("image not found", "pair index out of range", ...)
    detail: str = ""  # free text for the person reading the report


Item = Union[Sample, Skip]
# What `Task.score` receives: record metas, parsed answers (None: unparsed or missing), ranking scores.
References = Sequence[Mapping[str, Any]]
Predictions = Sequence[Optional[Any]]
ClassScores = Sequence[Optional[Mapping[str, float]]]


class TaskOptionsError(UserInputError):
    """Unknown or invalid task option."""


class AnswerDataError(UserInputError):
    """A data file that a task's answer parser reads (synonyms, lexicons) is missing or broken.
    Scoring stops on it, naming the file: every answer would otherwise read as unparsed."""


@dataclass
class TaskOptions:
    """Base of every task's options dataclass. Subclasses add fields with `metadata={"help": ...}`."""

    @classmethod
    def from_mapping(cls, values: Optional[Mapping[str, Any]], where: str = "task options"):
        return dataclass_from_mapping(cls, values, where, TaskOptionsError, noun="option",
                                      convert=lambda raw, f: _coerce(raw, f, where))

    @classmethod
    def describe(cls) -> List[Tuple[str, Any, str]]:
        """(name, default, help) for every option, for `socialfusion tasks`."""
        return [(f.name, None if f.default is dataclasses.MISSING else f.default, f.metadata.get("help", ""))
                for f in dataclasses.fields(cls)]


def option(default: Any, help: str, **metadata: Any) -> Any:
    """A TaskOptions field with its help text (and `choices`, where given)."""
    return field(default=default, metadata={"help": help, **metadata})


# What a CLI string of a bool/int/float option may be: (parse, what the error says it expects).
_NUMBER_PARSERS = {"int": (int, "an integer"), "float": (float, "a number")}
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _coerce(raw: Any, f: dataclasses.Field, where: str) -> Any:
    """Accept CLI strings ("false", "3") for bool/int/float options, and check choices."""
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    value = raw
    if kind == "bool" and isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise TaskOptionsError(f"{where}: option {f.name} expects true/false, got {raw!r}")
        value = lowered in _TRUE
    elif kind in _NUMBER_PARSERS and isinstance(raw, str):
        parse, expected = _NUMBER_PARSERS[kind]
        try:
            value = parse(raw)
        except ValueError:
            raise TaskOptionsError(f"{where}: option {f.name} expects {expected}, got {raw!r}") from None
    choices = f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise TaskOptionsError(f"{where}: option {f.name}={value!r} is not one of {', '.join(map(str, choices))}")
    return value


class Task(ABC):
    """Base class of a social task. Subclasses set the class attributes and implement the methods.

    Required declarations (registration refuses a task without them): `answer_space`, what the task
    answers (tasks/answer_space.py), and `primary_metric`, one of `metric_names`, with its direction
    `higher_is_better`. Ranking, confusion charts, per-class recall and probe targets are derived
    from `answer_space`; a task does not override `label_names`, `rank_options` or `probe_target`.
    """

    name: str = ""  # registry name, lowercase
    dataset: str = ""  # human name of the source dataset
    description: str = ""
    splits: Tuple[str, ...] = ()
    metric_names: Tuple[str, ...] = ()
    Options = TaskOptions  # the task's options dataclass (subclass of TaskOptions)
    answer_space: Optional[AnswerSpace] = None
    # The one metric that summarizes the task (report, transfer tables, probes) and its direction.
    primary_metric: str = ""
    higher_is_better: bool = True
    # Stated in `score` output and docs/tasks/ where a metric needs scores or a heatmap that a plain
    # text answer does not provide (e.g. the Gaussian heatmap used for AUC from a predicted point).
    metric_notes: Tuple[str, ...] = ()

    def options(self, values: Optional[Mapping[str, Any]] = None, where: str = "") -> TaskOptions:
        return self.Options.from_mapping(values, where or f"task {self.name} options")

    # -- derived from answer_space (not overridden by tasks; tasks/answer_space.py says what each is) --
    def label_names(self, options: TaskOptions) -> Optional[List[str]]:
        return self.answer_space.label_names(options)

    def rank_options(self, options: TaskOptions) -> Optional[Dict[str, str]]:
        return self.answer_space.rank_answers(options)

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        return self.answer_space.probe_target(meta)

    # -- optional ---------------------------------------------------------------------------------
    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        """Normalized [x1, y1, x2, y2] of what a question is about (person, head, pair, hands), for
        region features in the probes; None means the whole image."""
        return None

    @property
    def prompts_file(self) -> Path:
        """`prompts.yaml` next to the module that defines the task class."""
        return Path(inspect.getfile(type(self))).with_name("prompts.yaml")

    def read_parts(self, root: Path, split: str, options: TaskOptions) -> Optional[List[Any]]:
        """Independent, picklable pieces of a split (e.g. one annotation file each), in output order,
        each readable on its own by `read_part`; `convert --workers N` reads them in parallel.
        None (the default) means the split is only read sequentially, by `read`."""
        return None

    def read_part(self, root: Path, split: str, options: TaskOptions, part: Any) -> Iterator[Item]:
        raise NotImplementedError(f"task {self.name} does not read its splits in parts")

    @abstractmethod
    def read(self, root: Path, split: str, options: TaskOptions) -> Iterator[Item]:
        """Stream the release files of `split` under `root`, yielding Samples and Skips.

        Missing root/annotation files raise FileNotFoundError naming the path. Every record read
        yields exactly one Sample or one Skip, so converted + skipped == read.
        """

    @abstractmethod
    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        """The short, parseable answer text the model is trained to produce."""

    @abstractmethod
    def parse_answer(self, text: str, options: TaskOptions) -> Optional[Any]:
        """Structured prediction from raw model text, or None when unparseable. Odd text never
        raises; a broken data file of the parser raises AnswerDataError naming the file."""

    @abstractmethod
    def score(self, references: References, predictions: Predictions, class_scores: ClassScores,
              options: TaskOptions) -> Dict[str, Any]:
        """Reference metrics. `references` are record metas; `predictions[i]` is parse_answer's
        output for reference i (None = unparseable or missing: scored as wrong); `class_scores[i]`
        optional per-class scores from ranking mode (used by mAP/AP instead of one-hot)."""


class LabelTask(Task):
    """A task answering one label of its `SingleLabel` answer space; `parse_label` (a
    SynonymParser) finds the label named in an answer."""

    parse_label: Callable[[str], Optional[str]]

    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        return target["label"]  # the canonical label is the answer

    def parse_answer(self, text: str, options: TaskOptions) -> Optional[str]:
        return self.parse_label(text)

    def true_labels(self, references: References, classes: Sequence[str], missing: str) -> List[str]:
        """Each reference's label through the answer space; a label outside `classes` stops the
        score with `missing` (formatted with the reference's `index` and `label`)."""
        truths = [self.answer_space.truth_label(meta) for meta in references]
        for index, label in enumerate(truths):
            if label not in classes:
                raise UserInputError(missing.format(index=index, label=label))
        return truths


DERIVED = ("label_names", "rank_options", "probe_target")
# Attributes of an earlier contract that the answer space replaces; a task that still sets them
# would have them silently ignored.
REPLACED = ("closed_set", "rank_scoring", "rank_multi_label", "rank_text")


class TaskContractError(UserInputError):
    """A task that does not declare what the contract requires; refused at registration."""


def check_task(name: str, task: object) -> None:
    """Raise TaskContractError listing every problem of `task`, registered under `name`."""
    if not isinstance(task, Task):
        raise TaskContractError(f"task {name!r}: {task!r} is not a socialfusion_plugin.tasks.Task")
    problems = _problems(name, task)
    if problems:
        where = f"{type(task).__module__}.{type(task).__qualname__}"
        raise TaskContractError(f"task {name!r} ({where}) is refused: " + "; ".join(problems))


def _problems(name: str, task: Task) -> List[str]:
    problems = []
    if task.name != name:
        problems.append(f"its name attribute is {task.name!r}, not the name it is registered under")
    space = task.answer_space
    kinds = ", ".join(f"{kind.__name__}(...)" for kind in KINDS)
    if space is None:
        problems.append(f"no answer_space (set answer_space = one of {kinds} from "
                        "socialfusion_plugin.tasks.answer_space)")
    elif type(space) not in KINDS:
        problems.append(f"answer_space {space!r} is not one of {kinds}")
    else:
        problems += _label_problems(task, space)
    metrics = tuple(task.metric_names)
    if not task.primary_metric:
        problems.append(f"no primary_metric (one of metric_names: {', '.join(metrics) or 'none declared'})")
    elif task.primary_metric not in metrics:
        problems.append(f"primary_metric {task.primary_metric!r} is not one of metric_names ({', '.join(metrics)})")
    if not isinstance(task.higher_is_better, bool):
        problems.append(f"higher_is_better must be True or False, got {task.higher_is_better!r}")
    overridden = [member for member in DERIVED if getattr(type(task), member) is not getattr(Task, member)]
    if overridden:
        problems.append(f"it overrides {', '.join(overridden)}, which come from answer_space: declare the "
                        "labels there instead")
    replaced = [attribute for attribute in REPLACED if hasattr(task, attribute)]
    if replaced:
        problems.append(f"it sets {', '.join(replaced)}, which answer_space replaces")
    return problems


def _label_problems(task: Task, space: AnswerSpace) -> List[str]:
    try:
        labels = space.label_names(task.options())
    except Exception as err:  # a label function that fails on the default options
        return [f"answer_space labels fail under the default options ({type(err).__name__}: {err})"]
    if labels is None:
        return []
    if not labels:
        return ["answer_space has an empty label set"]
    if len(set(labels)) != len(labels):
        return [f"answer_space lists a label twice ({', '.join(labels)})"]
    return []
