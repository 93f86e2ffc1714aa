"""The `gesture` task: HaGRIDv2 full-frame hand gesture classification (the reader is reader.py).

Metrics follow `torchmetrics.F1Score(task="multiclass")` (`metric_notes`): a class in neither the
references nor the predictions is left out of the macro mean, as torchmetrics weights it 0; an answer
unparsed, or naming a class outside the scored label set, is a false negative of its reference class
and a false positive of no class (torchmetrics has no "no answer" class).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from ...registry import TASKS
from ..answer_space import SingleLabel
from ..base import ClassScores, Item, LabelTask, Predictions, References, TaskOptions, option
from ..classification_metrics import per_class_recall, top_class
from ..geometry import union_box
from ..phrase_matching import SynonymParser
from .reader import GESTURE_LABELS, class_files, label_names, read_class_file, read_split

# Canonical gesture name named in a text, or None. Never raises on any input.
parse_gesture = SynonymParser(Path(__file__).with_name("synonyms.yaml"), GESTURE_LABELS, "gesture")


@dataclass
class GestureOptions(TaskOptions):
    keep_no_gesture: bool = option(True, "an image whose hands are all no_gesture becomes the no_gesture class "
                                   "(34 labels); false: such images are skipped ('only no_gesture') and the label "
                                   "set has 33 classes")
    check_images: bool = option(True, "check that every image exists; false skips the check, e.g. when images are "
                                "validated later with `socialfusion validate`")


def multiclass_report(references: Sequence[str], predictions: Sequence[Optional[str]],
                      classes: Sequence[str]) -> Dict[str, Any]:
    tp, fp, fn = Counter(), Counter(), Counter()
    for truth, predicted in zip(references, predictions):
        if predicted == truth:
            tp[truth] += 1
            continue
        fn[truth] += 1
        if predicted in classes:
            fp[predicted] += 1
    n = len(references)
    accuracy = sum(tp.values()) / n if n else None
    f1_values = [2 * tp[name] / (2 * tp[name] + fp[name] + fn[name]) for name in classes
                 if 2 * tp[name] + fp[name] + fn[name]]
    return {
        "n": n,
        "accuracy": accuracy,
        "f1_micro": accuracy,
        "f1_macro": sum(f1_values) / len(f1_values) if f1_values else None,
        "per_class_recall": per_class_recall(references, predictions, classes),
    }


class GestureTask(LabelTask):
    name = "gesture"
    dataset = "HaGRIDv2"
    description = (
        "Full-frame hand gesture classification. One record = one image entry of "
        "hagrid_annotations/<split>/<class>.json; the answer is the image's gesture (a two-handed "
        "gesture's united_label, else the hand that is not no_gesture)."
    )
    splits = ("train", "val", "test")
    metric_names = ("f1_micro", "f1_macro", "accuracy", "per_class_recall")
    Options = GestureOptions
    answer_space = SingleLabel(labels=lambda options: label_names(options.keep_no_gesture), truth="label")
    parse_label = parse_gesture
    primary_metric = "f1_micro"
    metric_notes = (
        "f1_micro equals accuracy (single label); f1_macro follows torchmetrics "
        "F1Score(task='multiclass', average='macro'): the mean over classes with tp+fp+fn > 0",
        "an unparsed answer is a false negative of its reference class and a false positive of no class",
        "with ranking-mode scores the prediction is the highest-scoring label (ties: earlier label)",
        "without_no_gesture: references labelled no_gesture are removed and no_gesture leaves the label "
        "set, as the reference does for full-frame models; a no_gesture answer there is wrong",
    )

    def read(self, root: Path, split: str, options: TaskOptions) -> Iterator[Item]:
        return read_split(Path(root), split, options.keep_no_gesture, options.check_images)

    def read_parts(self, root: Path, split: str, options: TaskOptions) -> Optional[List[Any]]:
        return class_files(Path(root), split, options.check_images)  # one class file per part

    def read_part(self, root: Path, split: str, options: TaskOptions, part: Any) -> Iterator[Item]:
        return read_class_file(Path(root), split, part, options.keep_no_gesture, options.check_images)

    def score(self, references: References, predictions: Predictions, class_scores: ClassScores,
              options: TaskOptions) -> Dict[str, Any]:
        space = self.answer_space
        known = space.label_names(self.options({"keep_no_gesture": True}))
        truths = self.true_labels(references, known,
                                  "gesture reference {index} has no known 'label' in its meta (got {label!r})")
        # The label set the data was converted with travels in each record's meta, so scoring needs no option.
        with_no_gesture = any(meta.get("no_gesture_in_label_set", True) for meta in references)
        classes = space.label_names(self.options({"keep_no_gesture": with_no_gesture}))
        predicted = [space.predicted_label(answer) for answer in predictions]
        metrics = multiclass_report(truths, [top_class(p, s, classes) for p, s in zip(predicted, class_scores)],
                                    classes)
        metrics["num_classes"] = len(classes)
        # The reference's full-frame protocol: no_gesture leaves both the label set and the references.
        reduced_classes = space.label_names(self.options({"keep_no_gesture": False}))
        kept = [i for i, truth in enumerate(truths) if truth in reduced_classes]
        without = multiclass_report([truths[i] for i in kept],
                                    [top_class(predicted[i], class_scores[i], reduced_classes) for i in kept],
                                    reduced_classes)
        metrics["without_no_gesture"] = {**without, "num_classes": len(reduced_classes)}
        return metrics

    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        return union_box(meta.get("hand_boxes"))  # the hands carry the gesture


TASKS.register("gesture", GestureTask())
