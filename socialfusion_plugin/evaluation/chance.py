"""The chance level of a task: the score of the best answer that ignores the image, i.e. the same
answer for every test sample, taken from the training split: its most frequent answer (closed
sets; for emotion the most frequent category list), or its mean point (gaze tasks, answers "(x, y)").
It is scored by the task's own scorer, so it is the chance level of exactly the metric shown."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Mapping

from ..json_records import read_json_list
from ..tasks.base import Task
from socialfusion_plugin.errors import UserInputError

_POINT = re.compile(r"^\(\s*([0-9.]+)\s*,\s*([0-9.]+)\s*\)$")


def training_answers(train_json: Path, task: Task) -> List[str]:
    """The answers (second turn) of `task`'s records in a converted training split."""
    path = Path(train_json)
    records = read_json_list(path, "training split", UserInputError)
    answers = []
    for index, record in enumerate(records):
        meta = record.get("meta") if isinstance(record, dict) else None
        if not isinstance(meta, dict) or meta.get("task") != task.name:
            continue
        turns = record.get("conversations")
        if not (isinstance(turns, list) and len(turns) > 1 and isinstance(turns[1], dict)
                and isinstance(turns[1].get("value"), str)):
            raise UserInputError(f"{path}: record {index} ({record.get('id')!r}) has no answer turn")
        answers.append(turns[1]["value"])
    if not answers:
        raise UserInputError(f"{path}: no training records of task {task.name!r} to take the chance answer from")
    return answers


def constant_answer(answers: List[str]) -> str:
    """The mean point when most answers are points, else the most frequent answer (ties: first in
    sorted order, so the choice does not depend on the order of the file)."""
    points = [tuple(float(v) for v in m.groups()) for m in (_POINT.match(a.strip()) for a in answers) if m]
    if points and len(points) * 2 > len(answers):
        x = sum(p[0] for p in points) / len(points)
        y = sum(p[1] for p in points) / len(points)
        return f"({x:.2f}, {y:.2f})"
    counts = Counter(answers)
    best = max(counts.values())
    return sorted(a for a, c in counts.items() if c == best)[0]


def constant_predictions(references: List[Mapping[str, Any]], answer: str) -> Dict[str, Dict[str, str]]:
    return {str(r["id"]): {"id": r["id"], "text": answer} for r in references}
