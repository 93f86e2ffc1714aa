"""The `relation` task: PISC social relationship recognition between two boxed people."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ..answer_space import SingleLabel
from ..base import ClassScores, Item, Predictions, References, TaskOptions
from ..geometry import union_box
from ..label_task import LabelTask
from .answers import parse_relation
from .labels import FINE, GRANULARITIES, LABELS, label_for
from .metrics import relation_report
from .reader import read_split
from socialfusion_plugin.errors import UserInputError


@dataclass
class RelationOptions(TaskOptions):
    granularity: str = field(
        default=FINE,
        metadata={
            "help": "fine: 6 relationships (relationship.json, relationship_split/); coarse: 3 domains "
            "intimate / non-intimate / no relation (domain.json, domain_split/)",
            "choices": GRANULARITIES,
        },
    )


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
            raise UserInputError(
                f"relation references must share one granularity (fine or coarse), got {sorted(map(str, granularities))}"
            )
        granularity = granularities.pop()
        space = self.answer_space
        classes = space.label_names(self.options({"granularity": granularity}))
        truths = self.true_labels(references, classes,
                                  f"relation reference {{index}} has no {granularity} 'label' in its meta")
        mapped = [label_for(space.predicted_label(answer), granularity) for answer in predictions]
        report = relation_report(truths, mapped, class_scores, classes)
        return {"granularity": granularity, **report}

    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        return union_box(meta.get("boxes"))  # both people of the pair
