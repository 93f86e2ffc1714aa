"""The `relation` task: PISC social relationship recognition between two boxed people (the reader is
reader.py, which also holds the label vocabularies); what its metrics are is stated in `metric_notes`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from ...errors import UserInputError
from ...registry import TASKS
from ..answer_space import SingleLabel
from ..base import ClassScores, Item, LabelTask, Predictions, References, TaskOptions, option
from ..classification_metrics import label_matrix, mean_average_precision, per_class_recall, score_matrix, top_class
from ..geometry import union_box
from ..phrase_matching import SynonymParser
from .reader import COARSE, FINE, GRANULARITIES, LABELS, read_split

# A fine or coarse label named in a text, or None. Never raises on any input. The parser knows both
# vocabularies whatever the options say, because a score run may not repeat the conversion options:
# the scorer maps the parsed label into the references' granularity (label_for).
parse_relation = SynonymParser(Path(__file__).with_name("synonyms.yaml"),
                               tuple(dict.fromkeys(LABELS["fine"] + LABELS["coarse"])), "relation label")


# The domain each fine relationship belongs to (PISC's hierarchy), so a fine answer can be scored
# against coarse references.
FINE_TO_COARSE: Dict[str, str] = {
    "friends": "intimate", "family": "intimate", "couple": "intimate",
    "professional": "non-intimate", "commercial": "non-intimate", "no relation": "no relation",
}


def label_for(predicted: Optional[str], granularity: str) -> Optional[str]:
    """A parsed answer expressed in `granularity`'s label set (fine answers map to their domain
    for coarse references); None when it has no meaning there (e.g. "intimate" for fine)."""
    if granularity == COARSE and predicted in FINE_TO_COARSE:
        return FINE_TO_COARSE[predicted]
    return predicted if predicted in LABELS[granularity] else None


@dataclass
class RelationOptions(TaskOptions):
    granularity: str = option(FINE, "fine: 6 relationships (relationship.json, relationship_split/); coarse: 3 "
                              "domains intimate / non-intimate / no relation (domain.json, domain_split/)",
                              choices=GRANULARITIES)


def relation_report(truths: Sequence[str], parsed: Sequence[Optional[str]],
                    class_scores: Sequence[Optional[Mapping[str, float]]], classes: Sequence[str]) -> Dict[str, Any]:
    hard = [top_class(p, s, classes) for p, s in zip(parsed, class_scores)]
    recall = per_class_recall(truths, hard, classes)
    defined = [value for value in recall.values() if value is not None]
    n = len(truths)
    ap = mean_average_precision(
        label_matrix([[t] for t in truths], classes),
        score_matrix([[p] if p is not None else None for p in parsed], class_scores, classes),
        classes,
    )
    return {
        "n": n,
        "accuracy": sum(truth == predicted for truth, predicted in zip(truths, hard)) / n if n else None,
        "mean_ap": ap["mean_ap"],
        "per_class_ap": ap["per_class_ap"],
        "per_class_recall": recall,
        "mean_recall": sum(defined) / len(defined) if defined else None,
        "classes_without_positives": ap["classes_without_positives"],
    }


class RelationTask(LabelTask):
    name = "relation"
    dataset = "PISC"
    description = (
        "Social relationship between two boxed people. One record = one annotated pair (image id + "
        "'i j') of an image listed in the split file; split images without annotated pairs are not records."
    )
    splits = ("train", "val", "test")
    metric_names = ("mean_ap", "per_class_recall", "mean_recall", "accuracy")
    Options = RelationOptions
    answer_space = SingleLabel(labels=lambda options: LABELS[options.granularity], truth="label")
    parse_label = parse_relation
    primary_metric = "mean_ap"
    metric_notes = (
        "mAP: mean over classes with positives of sklearn average_precision_score; a text answer "
        "gives one-hot scores (an unparsed answer scores 0 for every class), ranking mode real scores",
        "with ranking-mode scores, accuracy and recall use the highest-scoring label (ties: earlier label)",
        "the label set is the references' granularity (from meta); for coarse references a fine answer "
        "counts as its domain (friends/family/couple -> intimate, professional/commercial -> non-intimate)",
    )

    def read(self, root: Path, split: str, options: TaskOptions) -> Iterator[Item]:
        return read_split(Path(root), split, options.granularity)

    def score(self, references: References, predictions: Predictions, class_scores: ClassScores,
              options: TaskOptions) -> Dict[str, Any]:
        # The granularity the references were converted with travels in their meta; mixing both in
        # one score run would mix label sets, so it is refused.
        granularities = {meta.get("granularity") for meta in references}
        if len(granularities) != 1 or not granularities <= set(GRANULARITIES):
            raise UserInputError("relation references must share one granularity (fine or coarse), "
                                 f"got {sorted(map(str, granularities))}")
        granularity = granularities.pop()
        space = self.answer_space
        classes = space.label_names(self.options({"granularity": granularity}))
        truths = self.true_labels(references, classes,
                                  f"relation reference {{index}} has no {granularity} 'label' in its meta")
        mapped = [label_for(space.predicted_label(answer), granularity) for answer in predictions]
        return {"granularity": granularity, **relation_report(truths, mapped, class_scores, classes)}

    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        return union_box(meta.get("boxes"))  # both people of the pair


TASKS.register("relation", RelationTask())
