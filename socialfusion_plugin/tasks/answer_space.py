"""What a task answers, declared once: every consumer asks this declaration for its behaviour, and
no module outside this one switches on the kind (SingleLabel, MultiLabel, Point, PointOrOutside).

`labels` is a sequence of names or a function of the task's options (a label set that an option
changes). `truth` and `point`/`inside` say where a record's meta holds the ground truth: a meta key,
or a function of the meta. `predicted` (and `predicted_inside`) say where the task's `parse_answer`
output holds the predicted label(s) or point: None for the value itself, a key of a parsed mapping,
or a function. `extras` names further parts of an answer that are scored but are not the answer
space itself (emotion's VAD).

Every member below is asked of any kind (by evaluation/rank_policy.py, evaluation/report.py, the
probes and `socialfusion tasks`), and answers None (or False) where it does not apply.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .classification_metrics import top_class

Labels = Union[Sequence[str], Callable[[Any], Sequence[str]]]
Field = Union[str, Callable[[Mapping[str, Any]], Any]]
ParsedField = Optional[Union[str, Callable[[Any], Any]]]
# (classes, [(true class, predicted class)]); a predicted class is None where the answer is
# unparsed, and may lie outside the classes (an answer naming a label of another label set).
Decisions = Tuple[List[str], List[Tuple[Any, Optional[str]]]]
# (true label set of each record, predicted label set of each answer: None where unparsed)
LabelSets = Tuple[List[List[str]], List[Optional[List[str]]]]
# (distances of the answers that gave a point, how many answers gave none)
PointErrors = Tuple[List[float], int]


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
    # How `eval --mode rank` reads the scores of `rank_answers`: each option scored as a complete
    # answer (end of answer included) rather than as the start of one; the prediction is every label
    # whose probability reaches a threshold rather than the best one; the options decide part of
    # the answer only, so the generated text stays the answer.
    rank_complete: bool = False
    rank_label_subset: bool = False
    rank_keeps_generated_text: bool = False

    def label_names(self, options: Any) -> Optional[List[str]]:
        """The closed label set under these options; None for open answers."""
        return None

    def rank_answers(self, options: Any) -> Optional[Dict[str, str]]:
        """label -> the answer text whose likelihood scores it in ranking mode; None: no ranking."""
        labels = self.label_names(options)
        return {label: label for label in labels} if labels else None

    def class_decisions(self, options: Any, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any],
                        scores: Sequence[Optional[Mapping[str, float]]]) -> Optional[Decisions]:
        """One decision per record among a closed set of classes, for a confusion matrix; ranking
        scores decide the predicted class where given, as in scoring. None: no such decision."""
        return None

    def label_sets(self, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any]) -> Optional[LabelSets]:
        """True and predicted label sets, for per-class recall; None where an answer is not a set."""
        return None

    def point_errors(self, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any]) -> Optional[PointErrors]:
        """Distances from the answers' points to the true points, over the records whose truth is
        a point; None when the answer is not a point."""
        return None

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        """("single", label), ("multi", [labels]) or ("point", [x, y]); None: nothing to probe."""
        raise NotImplementedError

    def describe(self, options: Any) -> Dict[str, Any]:
        return {"kind": self.kind, "labels": self.label_names(options), "extras": list(self.extras)}


@dataclass(frozen=True)
class _Closed(AnswerSpace):
    labels: Labels

    def label_names(self, options: Any) -> Optional[List[str]]:
        labels = self.labels(options) if callable(self.labels) else self.labels
        return [str(label) for label in labels]


@dataclass(frozen=True)
class SingleLabel(_Closed):
    """One label of a closed set. Ranking scores every label as a complete answer."""

    truth: Field = "label"
    predicted: ParsedField = None
    extras: Tuple[str, ...] = ()
    kind = "single_label"
    rank_complete = True

    def truth_label(self, meta: Mapping[str, Any]) -> Any:
        return _read(self.truth, meta)

    def predicted_label(self, parsed: Any) -> Optional[str]:
        value = _read_parsed(self.predicted, parsed)
        return value if isinstance(value, str) else None

    def class_decisions(self, options: Any, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any],
                        scores: Sequence[Optional[Mapping[str, float]]]) -> Optional[Decisions]:
        if not metas:
            return None
        classes = self.label_names(options)
        return classes, [(self.truth_label(meta), top_class(self.predicted_label(value), score, classes))
                         for meta, value, score in zip(metas, parsed, scores)]

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        return ("single", self.truth_label(meta))


@dataclass(frozen=True)
class MultiLabel(_Closed):
    """Any subset of a closed set, answered as a list. Ranking scores each label on its own as the
    start of the answer, and predicts every label whose probability reaches a threshold."""

    truth: Field = "labels"
    predicted: ParsedField = None
    extras: Tuple[str, ...] = ()
    kind = "multi_label"
    rank_label_subset = True

    def truth_labels(self, meta: Mapping[str, Any]) -> List[str]:
        return list(_read(self.truth, meta) or ())

    def predicted_labels(self, parsed: Any) -> Optional[List[str]]:
        value = _read_parsed(self.predicted, parsed)
        return list(value) if isinstance(value, (list, tuple)) else None

    def label_sets(self, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any]) -> Optional[LabelSets]:
        if not metas:
            return None
        return [self.truth_labels(m) for m in metas], [self.predicted_labels(p) for p in parsed]

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        return ("multi", self.truth_labels(meta))


class _PointAnswer(AnswerSpace):
    """What the two point kinds share: an answer's point read from `predicted`, and its distance
    to the record's true point."""

    predicted: ParsedField

    def truth_point(self, meta: Mapping[str, Any]) -> Optional[Tuple[float, float]]:
        """The record's true point; None where no point is true."""
        raise NotImplementedError

    def predicted_point(self, parsed: Any) -> Optional[Tuple[float, float]]:
        """The answer's point; None when it gives none (out of frame, or unparsed)."""
        return _as_point(_read_parsed(self.predicted, parsed))

    def point_errors(self, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any]) -> Optional[PointErrors]:
        pairs = [(self.predicted_point(answer), truth) for meta, answer in zip(metas, parsed)
                 if (truth := self.truth_point(meta)) is not None]
        return ([math.dist(point, truth) for point, truth in pairs if point is not None],
                sum(point is None for point, _ in pairs))

    def probe_target(self, meta: Mapping[str, Any]) -> Optional[Tuple[str, Any]]:
        point = self.truth_point(meta)
        return ("point", list(point)) if point else None


@dataclass(frozen=True)
class Point(_PointAnswer):
    """A normalized (x, y) point; an open answer, so ranking mode does not apply."""

    truth: Field = "point"
    predicted: ParsedField = None
    extras: Tuple[str, ...] = ()
    kind = "point"

    def rank_answers(self, options: Any) -> Optional[Dict[str, str]]:
        return None

    def truth_point(self, meta: Mapping[str, Any]) -> Optional[Tuple[float, float]]:
        point = _read(self.truth, meta)
        return (float(point[0]), float(point[1])) if point else None


@dataclass(frozen=True)
class PointOrOutside(_PointAnswer):
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
    rank_keeps_generated_text = True

    def rank_answers(self, options: Any) -> Optional[Dict[str, str]]:
        return {self.inside_label: self.point_prefix, self.outside_label: self.outside_answer}

    def truth_point(self, meta: Mapping[str, Any]) -> Optional[Tuple[float, float]]:
        """The annotated point where the target is inside the frame; None outside."""
        point = _read(self.point, meta)
        return (float(point[0]), float(point[1])) if point and _read(self.inside, meta) else None

    def predicted_decision(self, parsed: Any, scores: Optional[Mapping[str, float]] = None) -> Optional[str]:
        """The in/out decision: from ranking scores where they hold both labels, else from the
        parsed answer; None when the answer is unparsed."""
        inside, outside = self.inside_label, self.outside_label
        if scores and inside in scores and outside in scores:
            return inside if scores[inside] >= scores[outside] else outside
        if parsed is None or (isinstance(self.predicted_inside, str) and not isinstance(parsed, Mapping)):
            return None
        return inside if _read_parsed(self.predicted_inside, parsed) else outside

    def class_decisions(self, options: Any, metas: Sequence[Mapping[str, Any]], parsed: Sequence[Any],
                        scores: Sequence[Optional[Mapping[str, float]]]) -> Optional[Decisions]:
        inside, outside = self.inside_label, self.outside_label
        return [inside, outside], [(inside if _read(self.inside, m) else outside, self.predicted_decision(p, s))
                                   for m, p, s in zip(metas, parsed, scores)]


KINDS = (SingleLabel, MultiLabel, Point, PointOrOutside)
