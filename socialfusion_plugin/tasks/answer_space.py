"""What a task answers, declared once: every consumer derives its behaviour from this declaration.

A task sets `answer_space` to one of four kinds:

- `SingleLabel(labels, truth="label")`: one label of a closed set (gesture, relation);
- `MultiLabel(labels, truth=..., predicted=...)`: any subset of a closed set (emotion);
- `Point(truth=...)`: a normalized (x, y) point in the image (gaze);
- `PointOrOutside(point=..., inside=...)`: a point, or the fixed answer that the target is outside
  the frame (gaze_video).

`labels` is a sequence of names or a function of the task's options (a label set that an option
changes). `truth` and `point`/`inside` say where a record's meta holds the ground truth: a meta key,
or a function of the meta. `predicted` (and `predicted_inside`) say where the task's `parse_answer`
output holds the predicted label(s) or point: None for the value itself, a key of a parsed mapping,
or a function. `extras` names
further parts of an answer that are scored but are not the answer space itself (emotion's VAD).

From the declaration come: the ranking policy of `eval --mode rank` (evaluation/rank_policy.py),
the confusion matrix and per-class recall of `report` (evaluation/confusion.py), the target of a
linear probe (`probe_target`), and what `socialfusion tasks` prints.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

Labels = Union[Sequence[str], Callable[[Any], Sequence[str]]]
Field = Union[str, Callable[[Mapping[str, Any]], Any]]
ParsedField = Optional[Union[str, Callable[[Any], Any]]]


def _read(field: Field, meta: Mapping[str, Any]) -> Any:
    return field(meta) if callable(field) else meta.get(field)


def _read_parsed(field: ParsedField, parsed: Any) -> Any:
    if field is None:
        return parsed
    if callable(field):
        return field(parsed)
    return parsed.get(field) if isinstance(parsed, Mapping) else None


def _as_point(value: Any) -> Optional[Tuple[float, float]]:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return float(value[0]), float(value[1])
    return None


class AnswerSpace:
    """Base of the four kinds; `kind` is the name `socialfusion tasks` shows."""

    kind: str = ""
    extras: Tuple[str, ...] = ()

    def label_names(self, options: Any) -> Optional[List[str]]:
        """The closed label set under these options; None for open answers."""
        return None

    def rank_answers(self, options: Any) -> Optional[Dict[str, str]]:
        """label -> the answer text whose likelihood scores it in ranking mode; None: no ranking."""
        labels = self.label_names(options)
        return {label: label for label in labels} if labels else None

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        """("single", label), ("multi", [labels]) or ("point", [x, y]); None: nothing to probe."""
        raise NotImplementedError

    def describe(self, options: Any) -> Dict[str, Any]:
        return {"kind": self.kind, "labels": self.label_names(options), "extras": list(self.extras)}


class _Closed(AnswerSpace):
    labels: Labels

    def label_names(self, options: Any) -> Optional[List[str]]:
        labels = self.labels(options) if callable(self.labels) else self.labels
        return [str(label) for label in labels]


@dataclass(frozen=True)
class SingleLabel(_Closed):
    """One label of a closed set. Ranking scores every label as a complete answer."""

    labels: Labels
    truth: Field = "label"
    predicted: ParsedField = None
    extras: Tuple[str, ...] = ()
    kind = "single_label"

    def truth_label(self, meta: Mapping[str, Any]) -> Any:
        return _read(self.truth, meta)

    def predicted_label(self, parsed: Any) -> Optional[str]:
        value = _read_parsed(self.predicted, parsed)
        return value if isinstance(value, str) else None

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        return ("single", self.truth_label(meta))


@dataclass(frozen=True)
class MultiLabel(_Closed):
    """Any subset of a closed set, answered as a list. Ranking scores each label on its own as the
    start of the answer, and predicts every label whose probability reaches a threshold."""

    labels: Labels
    truth: Field = "labels"
    predicted: ParsedField = None
    extras: Tuple[str, ...] = ()
    kind = "multi_label"

    def truth_labels(self, meta: Mapping[str, Any]) -> List[str]:
        return list(_read(self.truth, meta) or ())

    def predicted_labels(self, parsed: Any) -> Optional[List[str]]:
        value = _read_parsed(self.predicted, parsed)
        return list(value) if isinstance(value, (list, tuple)) else None

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        return ("multi", self.truth_labels(meta))


@dataclass(frozen=True)
class Point(AnswerSpace):
    """A normalized (x, y) point; an open answer, so ranking mode does not apply."""

    truth: Field = "point"
    predicted: ParsedField = None
    extras: Tuple[str, ...] = ()
    kind = "point"

    def rank_answers(self, options: Any) -> Optional[Dict[str, str]]:
        return None

    def predicted_point(self, parsed: Any) -> Optional[Tuple[float, float]]:
        return _as_point(_read_parsed(self.predicted, parsed))

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        point = _read(self.truth, meta)
        return ("point", [float(point[0]), float(point[1])]) if point else None


@dataclass(frozen=True)
class PointOrOutside(AnswerSpace):
    """A normalized (x, y) point, or `outside_answer` when the target is not in the frame.

    Ranking decides in/out only, between the labels `inside_label` and `outside_label`: "inside" is
    scored as the probability that the answer STARTS with `point_prefix` (summed over every point
    that may follow), against the probability that it starts with `outside_answer`. The point itself
    is still generated, and the generated text is kept as the answer."""

    point: Field = "point"
    inside: Field = "inside"
    predicted: ParsedField = "point"
    predicted_inside: ParsedField = "inside"
    outside_answer: str = "outside"
    point_prefix: str = "("
    inside_label: str = "inside"
    outside_label: str = "outside"
    extras: Tuple[str, ...] = ()
    kind = "point_or_outside"

    @property
    def decision_labels(self) -> Tuple[str, str]:
        return (self.inside_label, self.outside_label)

    def rank_answers(self, options: Any) -> Optional[Dict[str, str]]:
        return {self.inside_label: self.point_prefix, self.outside_label: self.outside_answer}

    def predicted_point(self, parsed: Any) -> Optional[Tuple[float, float]]:
        """The answer's point; None when it gives none (out of frame, or unparsed)."""
        return _as_point(_read_parsed(self.predicted, parsed))

    def truth_decision(self, meta: Mapping[str, Any]) -> str:
        return self.inside_label if _read(self.inside, meta) else self.outside_label

    def predicted_decision(self, parsed: Any, scores: Optional[Mapping[str, float]] = None) -> Optional[str]:
        """The in/out decision: from ranking scores where they hold both labels, else from the
        parsed answer; None when the answer is unparsed."""
        inside, outside = self.decision_labels
        if scores and inside in scores and outside in scores:
            return inside if scores[inside] >= scores[outside] else outside
        if parsed is None or (isinstance(self.predicted_inside, str) and not isinstance(parsed, Mapping)):
            return None
        return inside if _read_parsed(self.predicted_inside, parsed) else outside

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        point = _read(self.point, meta)
        if not _read(self.inside, meta) or not point:
            return None
        return ("point", [float(point[0]), float(point[1])])


KINDS = (SingleLabel, MultiLabel, Point, PointOrOutside)
