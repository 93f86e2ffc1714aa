"""The `emotion` task: the 26 EMOTIC emotion categories of a boxed person (multi-label)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ..answer_space import MultiLabel
from ..base import ClassScores, Item, Predictions, References, Skip, Task, TaskOptions
from .answers import format_categories_answer, parse_emotion_answer
from .csvreader import csv_candidates, find_csv_file, iter_csv_persons
from .labels import CATEGORIES
from .matreader import MAT_CANDIDATES, find_mat_file, iter_mat_persons
from .metrics import METRIC_NAMES, category_metrics, vad_errors
from .persons import PersonConverter

# Official archives unpack images to <root>/<folder>; Tandon-A/emotic's data_dir keeps them in
# <root>/emotic/<folder> next to Annotations/ and emotic_pre/. "auto" tries both, in this order.
AUTO_IMAGE_DIRS = ("", "emotic")


@dataclass
class EmotionOptions(TaskOptions):
    source: str = field(
        default="auto",
        metadata={
            "help": "annotation source: mat (Annotations/Annotations.mat, else CVPR17_Annotations.mat), "
            "csv (Tandon-A/emotic's emotic_pre/{split}.csv), or auto (mat if present, else csv)",
            "choices": ("auto", "mat", "csv"),
        },
    )
    csv_dir: str = field(
        default="",
        metadata={"help": "folder of the CSV files (relative to --root or absolute); "
                          "default: emotic_pre/, then annots/, then --root"},
    )
    image_dir: str = field(
        default="auto",
        metadata={"help": "folder under --root that holds ade20k/ emodb_small/ framesdb/ mscoco/ "
                          "('' = --root itself); auto tries --root, then emotic/"},
    )
    include_vad: bool = field(
        default=False,
        metadata={"help": "append the continuous ratings to the answer: '; valence 6, arousal 4, dominance 7' "
                          "(persons without complete ratings keep the categories-only answer)"},
    )


class EmotionTask(Task):
    name = "emotion"
    dataset = "EMOTIC"
    description = (
        "Emotion categories (26, multi-label) of the boxed person. One record = one annotated person "
        "(image entry + person index); val/test use the combined categories of all annotators."
    )
    splits = ("train", "val", "test")
    metric_names = METRIC_NAMES
    Options = EmotionOptions
    # Ranking scores each category on its own as the START of the answer (the answer is a list, so
    # the category's name may be followed by more): the probability that the model's list begins
    # with that category. Answers list categories in canonical order during training, so earlier
    # categories are favoured as first items: compare ranking mAP between checkpoints, not with text mAP.
    answer_space = MultiLabel(labels=CATEGORIES, truth="categories", predicted="categories", extras=("vad",))
    primary_metric = "mean_ap"
    metric_notes = (
        "mean_ap: mean over categories with a positive of sklearn average_precision_score over all persons; "
        "text answers give one-hot scores (1 for each named category); ranking mode scores every category "
        "separately and those scores are used instead.",
        "micro_f1: of the parsed category sets (unparseable = empty set).",
        "vad_mae: mean absolute error of valence/arousal/dominance (1-10) over the vad_n persons whose "
        "reference and answer both have all three ratings.",
    )

    def read(self, root: Path, split: str, options: TaskOptions) -> Iterator[Item]:
        root = Path(root)  # convert() has checked that it is a folder and that the split exists
        persons, source = self._persons(root, split, options)
        image_dirs = AUTO_IMAGE_DIRS if options.image_dir == "auto" else (options.image_dir.strip(),)
        converter = PersonConverter(root, image_dirs, source)
        for person in persons:
            yield person if isinstance(person, Skip) else converter.convert(person)

    def _persons(self, root: Path, split: str, options: TaskOptions):
        mat = find_mat_file(root) if options.source in ("auto", "mat") else None
        if mat is not None:
            return iter_mat_persons(mat, split), "mat"
        if options.source == "mat":
            raise FileNotFoundError(
                f"EMOTIC annotations not found: looked for {', '.join(str(root / c) for c in MAT_CANDIDATES)}"
            )
        csv_path = find_csv_file(root, split, options.csv_dir)
        if csv_path is not None:
            return iter_csv_persons(csv_path), "csv"
        looked = [str(root / c) for c in MAT_CANDIDATES] if options.source == "auto" else []
        looked += [str(p) for p in csv_candidates(root, split, options.csv_dir)]
        raise FileNotFoundError(f"EMOTIC {split} annotations not found: looked for {', '.join(looked)}")

    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        return format_categories_answer(target, options.include_vad)

    def parse_answer(self, text: str, options: TaskOptions) -> Optional[Dict[str, Any]]:
        return parse_emotion_answer(text)

    def score(self, references: References, predictions: Predictions, class_scores: ClassScores,
              options: TaskOptions) -> Dict[str, Any]:
        space = self.answer_space
        metrics = category_metrics([space.truth_labels(meta) for meta in references],
                                   [space.predicted_labels(answer) for answer in predictions],
                                   class_scores, space.label_names(options))
        metrics.update(vad_errors(references, predictions))  # the VAD extra, beside the answer space
        return metrics

    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        return meta.get("box")
