"""What registration checks of a task, so that a task missing a declaration fails when it is added,
naming the task and what is missing, instead of failing later inside `eval`, `report` or `probe`."""
from __future__ import annotations

from typing import List

from socialfusion_plugin.errors import UserInputError

from .answer_space import KINDS, AnswerSpace
from .base import Task

DERIVED = ("label_names", "rank_options", "probe_target")
# Attributes of an earlier contract that the answer space replaces; a task that still sets them
# would have them silently ignored.
REPLACED = ("closed_set", "rank_scoring", "rank_multi_label", "rank_text")


class TaskContractError(UserInputError):
    """A task that does not declare what the contract requires; refused at registration."""


def check_task(name: str, task: object) -> None:
    """Raise TaskContractError listing every problem of `task`, registered under `name`."""
    if not isinstance(task, Task):
        raise TaskContractError(f"task {name!r}: {task!r} is not a socialfusion_plugin.tasks.Task")
    problems = _problems(name, task)
    if problems:
        where = f"{type(task).__module__}.{type(task).__qualname__}"
        raise TaskContractError(f"task {name!r} ({where}) is refused: " + "; ".join(problems))


def _problems(name: str, task) -> List[str]:
    problems = []
    if task.name != name:
        problems.append(f"its name attribute is {task.name!r}, not the name it is registered under")
    space = task.answer_space
    kinds = ", ".join(f"{kind.__name__}(...)" for kind in KINDS)
    if space is None:
        problems.append(f"no answer_space (set answer_space = one of {kinds} from "
                        "socialfusion_plugin.tasks.answer_space)")
    elif not isinstance(space, AnswerSpace) or type(space) not in KINDS:
        problems.append(f"answer_space {space!r} is not one of {kinds}")
    else:
        problems += _label_problems(task, space)
    metrics = tuple(task.metric_names)
    if not task.primary_metric:
        problems.append(f"no primary_metric (one of metric_names: {', '.join(metrics) or 'none declared'})")
    elif task.primary_metric not in metrics:
        problems.append(f"primary_metric {task.primary_metric!r} is not one of metric_names ({', '.join(metrics)})")
    if not isinstance(task.higher_is_better, bool):
        problems.append(f"higher_is_better must be True or False, got {task.higher_is_better!r}")
    overridden = [member for member in DERIVED if getattr(type(task), member) is not getattr(Task, member)]
    if overridden:
        problems.append(f"it overrides {', '.join(overridden)}, which come from answer_space: declare the "
                        "labels there instead")
    replaced = [attribute for attribute in REPLACED if hasattr(task, attribute)]
    if replaced:
        problems.append(f"it sets {', '.join(replaced)}, which answer_space replaces")
    return problems


def _label_problems(task, space: AnswerSpace) -> List[str]:
    try:
        labels = space.label_names(task.options())
    except Exception as err:  # a label function that fails on the default options
        return [f"answer_space labels fail under the default options ({type(err).__name__}: {err})"]
    if labels is None:
        return []
    if not labels:
        return ["answer_space has an empty label set"]
    if len(set(labels)) != len(labels):
        return [f"answer_space lists a label twice ({', '.join(labels)})"]
    return []
