"""How `eval --mode rank` turns a task's answer options into predictions.

The policy is the task's answer space's (tasks/answer_space.py): the options are
`answer_space.rank_answers(options)` (label -> answer text), and its `rank_*` flags say how they are
scored and read. For the four kinds:

- SingleLabel: each label is scored as a whole answer, end-of-answer token included; the text line
  is the best label's answer text.
- MultiLabel: each label is scored on its own as the START of the answer (a list may follow); the
  predicted set is every label whose probability reaches `multi_label_threshold`, plus the best one.
- PointOrOutside: the two decision labels are scored as the start of the answer (a point, or the
  outside answer); the generated answer is kept as text and the scores are added beside it, since
  the options decide in/out but the point must still be generated.
- Point: no closed answer set, so no ranking.

Scores written to the predictions file are probabilities: a softmax over the options' summed
log-likelihoods (the raw sums go to "logprobs"), so mAP and AP rank samples by a normalized
per-class probability.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from ..tasks.base import Task, TaskOptions
from socialfusion_plugin.errors import UserInputError


@dataclass(frozen=True)
class RankPolicy:
    options: Dict[str, str]  # label -> answer text
    complete: bool
    multi_label: bool
    text_from_generation: bool
    multi_label_threshold: float = 0.1

    def __post_init__(self):
        if not self.options:
            raise UserInputError("ranking needs at least one option")
        if not 0.0 <= self.multi_label_threshold <= 1.0:
            raise UserInputError(f"multi_label_threshold must be within [0, 1], got {self.multi_label_threshold}")

    def prediction(self, logprobs: Mapping[str, float], generated: Optional[str] = None) -> Dict[str, Any]:
        """{"text", "scores", "logprobs"} for one sample (the id is added by the runner)."""
        probabilities = softmax(logprobs)
        labels = list(self.options)
        best = max(labels, key=lambda label: (probabilities[label], -labels.index(label)))
        if self.text_from_generation:
            if generated is None:
                raise UserInputError("this task's ranking keeps the generated text, but none was given")
            text = generated
        elif self.multi_label:
            chosen = [l for l in labels if probabilities[l] >= self.multi_label_threshold or l == best]
            text = ", ".join(self.options[l] for l in chosen)  # in label order (EMOTIC's canonical order)
        else:
            text = self.options[best]
        return {"text": text, "scores": probabilities, "logprobs": {k: float(v) for k, v in logprobs.items()}}


def softmax(values: Mapping[str, float]) -> Dict[str, float]:
    top = max(values.values())
    weights = {k: math.exp(v - top) for k, v in values.items()}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def rank_policy(task: Task, options: TaskOptions, multi_label_threshold: float = 0.1) -> RankPolicy:
    space = task.answer_space
    answers = space.rank_answers(options)
    if not answers:
        raise UserInputError(f"task {task.name} has no closed answer set: --mode rank is not available; "
                             "use --mode generate")
    return RankPolicy(options=dict(answers), complete=space.rank_complete, multi_label=space.rank_label_subset,
                      text_from_generation=space.rank_keeps_generated_text,
                      multi_label_threshold=multi_label_threshold)
