"""How `eval --mode rank` turns a task's answer options into predictions.

A task describes its ranking with `Task.rank_options(options)` (label -> answer text) and, where
the defaults do not fit, three class attributes read here:

- `rank_scoring`: "complete" (default) scores each option as a whole answer, end-of-answer token
  included; "prefix" scores the probability that the answer STARTS with the option text.
- `rank_multi_label` (default False): every option is a label of its own (emotion); the predicted
  set is every label whose probability reaches `multi_label_threshold`, plus the best one.
- `rank_text` (default "label"): the text line is the predicted label's answer text; "generate"
  keeps the generated answer as text and adds the ranking scores beside it (gaze_video, where the
  options decide in/out but the point must still be generated).

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

SCORINGS = ("complete", "prefix")
TEXT_SOURCES = ("label", "generate")


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
    answers = task.rank_options(options)
    if not answers:
        raise UserInputError(f"task {task.name} has no closed answer set: --mode rank is not available; "
                         "use --mode generate")
    scoring = task.rank_scoring
    if scoring not in SCORINGS:
        raise UserInputError(f"task {task.name}: rank_scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
    text_source = task.rank_text
    if text_source not in TEXT_SOURCES:
        raise UserInputError(f"task {task.name}: rank_text must be one of {', '.join(TEXT_SOURCES)}, got {text_source!r}")
    return RankPolicy(
        options=dict(answers),
        complete=scoring == "complete",
        multi_label=bool(task.rank_multi_label),
        text_from_generation=text_source == "generate",
        multi_label_threshold=multi_label_threshold,
    )

