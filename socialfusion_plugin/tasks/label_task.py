"""What the single-label tasks (gesture, relation) share: the answer is the label itself, read back
from free text by the task's synonym parser, and every reference must hold a label of the scored set."""
from __future__ import annotations

from typing import Any, Callable, List, Mapping, Optional, Sequence

from socialfusion_plugin.errors import UserInputError

from .base import References, Task, TaskOptions


class LabelTask(Task):
    """A task answering one label of its `SingleLabel` answer space; `parse_label` (a
    SynonymParser) finds the label named in an answer."""

    parse_label: Callable[[str], Optional[str]]

    def format_answer(self, target: Mapping[str, Any], options: TaskOptions) -> str:
        return target["label"]  # the canonical label is the answer

    def parse_answer(self, text: str, options: TaskOptions) -> Optional[str]:
        return self.parse_label(text)

    def true_labels(self, references: References, classes: Sequence[str], missing: str) -> List[str]:
        """Each reference's label through the answer space; a label outside `classes` stops the
        score with `missing` (formatted with the reference's `index` and `label`)."""
        truths = []
        for index, meta in enumerate(references):
            label = self.answer_space.truth_label(meta)
            if label not in classes:
                raise UserInputError(missing.format(index=index, label=label))
            truths.append(label)
        return truths
