"""The `emotion` task: the 26 EMOTIC emotion categories of a boxed person (multi-label), read from the
official .mat or the common CSV conversion (matreader.py, csvreader.py; persons.py checks both alike).

Answer text: categories in the canonical order ("Engagement, Happiness, Pleasure"), optionally
followed by the continuous ratings ("; valence 6, arousal 4, dominance 7"); a model's answer is read
back leniently into categories (and ratings, when it gives them). The metrics (`metric_notes`) are
the benchmark's mAP, the VAD error where ratings are predicted, and a micro F1 of the category sets."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import numpy as np

from ...json_records import InputFileError
from ...registry import TASKS
from ..answer_space import MultiLabel
from ..base import ClassScores, Item, Predictions, References, Skip, Task, TaskOptions, option
from ..classification_metrics import label_matrix, mean_average_precision, score_matrix
from ..paths import ImageFiles
from .csvreader import csv_candidates, iter_csv_persons
from .labels import CATEGORIES, SYNONYMS, in_canonical_order
from .matreader import MAT_CANDIDATES, iter_mat_persons
from .persons import VAD_KEYS, convert_person


def _phrase_pattern(phrase: str) -> str:
    # "doubt/confusion" and "doubt / confusion" alike; spaces in phrases match any whitespace
    parts = [re.escape(p) for p in re.split(r"\s*/\s*|\s+", phrase)]
    joiner = r"\s*/\s*" if "/" in phrase else r"\s+"
    return joiner.join(parts)


_LEXICON = {**{name.lower(): name for name in CATEGORIES}, **{word.lower(): name for word, name in SYNONYMS.items()}}
# Longest phrases first, so "doubt/confusion" wins over "doubt" and "in pain" over "pain".
_CATEGORY_PATTERN = re.compile(
    r"(?<![\w-])(" + "|".join(_phrase_pattern(p) for p in sorted(_LEXICON, key=len, reverse=True)) + r")(?![\w-])",
    re.IGNORECASE,
)
_VAD_PATTERN = re.compile(r"\b(valence|arousal|dominance)\b\s*(?:[:=]|is|of)?\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _categories(text: str) -> List[str]:
    keys = (re.sub(r"\s*/\s*", "/", _SPACES.sub(" ", match.group(1).lower()))
            for match in _CATEGORY_PATTERN.finditer(text))
    return in_canonical_order(_LEXICON[key] for key in keys if key in _LEXICON)


def _micro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    true_positives = float(np.sum(truth * predicted))
    denominator = float(np.sum(truth) + np.sum(predicted))
    return 2.0 * true_positives / denominator if denominator else 0.0


def vad_errors(references: Sequence[Mapping[str, Any]],
               predictions: Sequence[Optional[Mapping[str, Any]]]) -> Dict[str, Any]:
    """Absolute errors over persons that have both reference and predicted ratings."""
    errors = []
    for reference, prediction in zip(references, predictions):
        truth = reference.get("vad")
        guess = (prediction or {}).get("vad")
        if truth and guess:
            errors.append([abs(float(guess[key]) - float(truth[key])) for key in VAD_KEYS])
    if not errors:
        return {"vad_mae": None, "vad_n": 0}
    per_axis = np.mean(np.asarray(errors), axis=0)
    mae = {**{key: float(value) for key, value in zip(VAD_KEYS, per_axis)}, "mean": float(np.mean(per_axis))}
    return {"vad_mae": mae, "vad_n": len(errors)}


def category_metrics(truths: Sequence[Sequence[str]], predicted_sets: Sequence[Optional[Sequence[str]]],
                     class_scores: Sequence[Optional[Mapping[str, float]]], classes: Sequence[str]) -> Dict[str, Any]:
    """mAP (from ranking scores where given, else one-hot of the predicted sets) and micro F1 of
    the true category sets against the predicted ones (None: unparsed)."""
    truth = label_matrix(truths, classes)
    ranking = list(class_scores) if class_scores else [None] * len(truths)
    scores = score_matrix(predicted_sets, ranking, classes)
    one_hot = score_matrix(predicted_sets, [None] * len(truths), classes)
    return {**mean_average_precision(truth, scores, classes), "micro_f1": _micro_f1(truth.astype(np.float64), one_hot),
            "ap_from_class_scores": sum(1 for s in ranking if s)}


# Official archives unpack images to <root>/<folder>; Tandon-A/emotic's data_dir keeps them in
# <root>/emotic/<folder> next to Annotations/ and emotic_pre/. "auto" tries both, in this order.
AUTO_IMAGE_DIRS = ("", "emotic")


@dataclass
class EmotionOptions(TaskOptions):
    source: str = option("auto", "annotation source: mat (Annotations/Annotations.mat, else "
                         "CVPR17_Annotations.mat), csv (Tandon-A/emotic's emotic_pre/{split}.csv), or auto (mat if "
                         "present, else csv)", choices=("auto", "mat", "csv"))
    csv_dir: str = option("", "folder of the CSV files (relative to --root or absolute); default: emotic_pre/, then "
                          "annots/, then --root")
    image_dir: str = option("auto", "folder under --root that holds ade20k/ emodb_small/ framesdb/ mscoco/ ('' = "
                            "--root itself); auto tries --root, then emotic/")
    include_vad: bool = option(False, "append the continuous ratings to the answer: '; valence 6, arousal 4, "
                               "dominance 7' (persons without complete ratings keep the categories-only answer)")


class EmotionTask(Task):
    name = "emotion"
    dataset = "EMOTIC"
    description = (
        "Emotion categories (26, multi-label) of the boxed person. One record = one annotated person "
        "(image entry + person index); val/test use the combined categories of all annotators."
    )
    splits = ("train", "val", "test")
    metric_names = ("mean_ap", "per_class_ap", "micro_f1", "vad_mae", "vad_n")
    Options = EmotionOptions
    # Ranking scores each category as the START of the answer; training answers list categories in
    # canonical order, so earlier categories are favoured: compare ranking mAP between checkpoints,
    # not with text mAP.
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
        images = ImageFiles(root)
        for person in persons:
            yield person if isinstance(person, Skip) else convert_person(person, images, image_dirs, source)

    def _persons(self, root: Path, split: str, options: TaskOptions):
        mat_files = [root / c for c in MAT_CANDIDATES]
        mat = options.source in ("auto", "mat") and _first_file(mat_files, "the EMOTIC annotations (a .mat file)")
        if mat:
            return iter_mat_persons(mat, split), "mat"
        if options.source == "mat":
            raise FileNotFoundError(f"EMOTIC annotations not found: looked for {', '.join(map(str, mat_files))}")
        csv_files = csv_candidates(root, split, options.csv_dir)
        csv_path = _first_file(csv_files, "an EMOTIC CSV file")
        if csv_path is not None:
            return iter_csv_persons(csv_path), "csv"
        looked = (mat_files if options.source == "auto" else []) + csv_files
        raise FileNotFoundError(f"EMOTIC {split} annotations not found: looked for {', '.join(map(str, looked))}")

    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        text = ", ".join(in_canonical_order(target["categories"]))
        vad = target.get("vad")
        if options.include_vad and vad:
            # train ratings are integers 1-10 ("6"); combined val/test ratings can be annotator means ("5.25")
            text += "; " + ", ".join(f"{key} {round(float(vad[key]), 2):g}" for key in VAD_KEYS)
        return text

    def parse_answer(self, text: str, options: TaskOptions) -> Optional[Dict[str, Any]]:
        """{"categories": [...canonical order], "vad": {valence, arousal, dominance} or None}, or None
        when no category is recognized. Separators (commas, "and", semicolons, newlines) and unknown
        words are ignored; ratings count only when all three are given. Never raises."""
        if not isinstance(text, str) or not text.strip():
            return None
        ratings: Dict[str, float] = {}
        for match in _VAD_PATTERN.finditer(text):
            ratings.setdefault(match.group(1).lower(), float(match.group(2)))
        # ratings are removed first so their words and numbers cannot be read as categories
        categories = _categories(_VAD_PATTERN.sub(" ", text))
        if not categories:
            return None
        vad = {key: ratings[key] for key in VAD_KEYS} if all(key in ratings for key in VAD_KEYS) else None
        return {"categories": categories, "vad": vad}

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


def _first_file(paths: List[Path], expected: str) -> Optional[Path]:
    """The first of `paths` that is a file; one that is a folder is an error, not a file missing."""
    for path in paths:
        if path.is_file():
            return path
        if path.is_dir():
            raise InputFileError(f"{path}: is a folder; expected {expected}")
    return None


TASKS.register("emotion", EmotionTask())
