"""The `gaze_video` task: where does the person in the head box look in this video frame, or is
the target out of frame? (VideoAttentionTarget)"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from ..answer_space import PointOrOutside
from ..base import ClassScores, Item, Predictions, References, Task, TaskOptions, TaskOptionsError
from .answers import IN_FRAME_LABEL, OUT_OF_FRAME_ANSWER, OUT_OF_FRAME_LABEL, format_answer, parse_answer
from .metrics import METRIC_NOTES, score_video_attention
from .reader import read_split


@dataclass
class GazeVideoOptions(TaskOptions):
    frame_stride: int = field(
        default=1,
        metadata={
            "help": "keep every k-th annotated line of each person track (consecutive frames are near "
            "duplicates); the others are reported as 'not sampled (frame_stride)'"
        },
    )
    smooth_boxes: bool = field(
        default=False,
        metadata={"help": "moving-average head boxes over 11 lines of the track, as the reference code does"},
    )

    def __post_init__(self):
        if not isinstance(self.frame_stride, int) or isinstance(self.frame_stride, bool) or self.frame_stride < 1:
            raise TaskOptionsError(f"option frame_stride must be an integer >= 1, got {self.frame_stride!r}")
        if not isinstance(self.smooth_boxes, bool):
            raise TaskOptionsError(f"option smooth_boxes must be true or false, got {self.smooth_boxes!r}")


class VideoAttentionTargetTask(Task):
    name = "gaze_video"
    dataset = "VideoAttentionTarget"
    description = (
        "Normalized (x, y) point that the person in the head box looks at in a video frame, or "
        "'out of frame'. One record = one annotated line of a person track (a person in a frame). "
        "Ranking mode scores the in/out decision with the labels 'in frame' / 'out of frame'."
    )
    splits = ("train", "test")
    metric_names = ("auc", "l2", "inout_ap")
    Options = GazeVideoOptions
    # Ranking decides in/out only: an in-frame answer is "(x, y)", so "in frame" is scored as the
    # probability that the answer STARTS with "(", against the probability that it starts with
    # "out of frame". The point itself is still generated.
    answer_space = PointOrOutside(point="gaze", inside="in_frame", predicted="point", predicted_inside="in_frame",
                                  outside_answer=OUT_OF_FRAME_ANSWER, point_prefix="(",
                                  inside_label=IN_FRAME_LABEL, outside_label=OUT_OF_FRAME_LABEL)
    primary_metric = "auc"
    metric_notes = METRIC_NOTES

    def read(self, root: Path, split: str, options: TaskOptions) -> Iterator[Item]:
        return read_split(Path(root), split, options.frame_stride, options.smooth_boxes)

    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        return format_answer(target)

    def parse_answer(self, text: str, options: TaskOptions) -> Optional[Any]:
        return parse_answer(text)

    def score(self, references: References, predictions: Predictions, class_scores: ClassScores,
              options: TaskOptions) -> Dict[str, Any]:
        space = self.answer_space
        return score_video_attention([space.truth_point(meta) for meta in references],
                                     [space.predicted_decision(answer) for answer in predictions],
                                     [space.predicted_point(answer) for answer in predictions], class_scores)

    def region_box(self, meta: Mapping[str, Any]) -> Optional[List[float]]:
        return meta.get("head_box")
