"""`socialfusion tasks`: list registered tasks with their splits, label sets, options and metrics, and
the installed task plugins that failed to load (each as one line: entry point, distribution, cause)."""
from __future__ import annotations

import json
import sys

from .. import registry
from .flags import add_shared_flag


def register(subparsers) -> None:
    parser = subparsers.add_parser("tasks", help="list registered tasks")
    add_shared_flag(parser, "--json")
    parser.add_argument("--names", action="store_true", help="print only the task names, one per line (for scripts)")
    parser.add_argument("--ranked", action="store_true",
                        help="only tasks eval-suite evaluates in rank mode by default (they have answer options to rank)")
    parser.set_defaults(handler=run)


def describe_task(task) -> dict:
    options = task.options()
    labels = task.label_names(options)
    return {
        "name": task.name,
        "dataset": task.dataset,
        "description": task.description,
        "splits": list(task.splits),
        "labels": labels,
        "options": [{"name": n, "default": d, "help": h} for n, d, h in task.Options.describe()],
        "metrics": list(task.metric_names),
        "primary_metric": task.primary_metric,
        "higher_is_better": task.higher_is_better,
        "answer": task.answer_space.describe(options),
        "closed_set": labels is not None,
    }


def run(args) -> int:
    from ..evaluation.suite import ranks_by_default
    from ..tasks import broken_task_plugins

    tasks = [registry.TASKS.get(name) for name in registry.list_tasks()]
    if args.ranked:
        tasks = [task for task in tasks if ranks_by_default(task)]
    broken = broken_task_plugins()
    if args.names:
        # the names stay usable in a loop (`for t in $(socialfusion tasks --names)`); the broken go to stderr
        print("\n".join(task.name for task in tasks))
        for plugin in broken:
            print(f"socialfusion tasks: broken task plugin: {plugin.problem}", file=sys.stderr)
        return 0
    described = [describe_task(task) for task in tasks]
    if args.json:
        described += [{"name": plugin.claims[0], "broken": plugin.problem, "entry_point": plugin.entry_point,
                       "distribution": plugin.distribution} for plugin in broken]
        print(json.dumps(described, indent=2))
        return 0
    if not described:
        print("no tasks registered")
    for info in described:
        print(f"{info['name']}  ({info['dataset']})")
        if info["description"]:
            print(f"  {info['description']}")
        print(f"  splits:  {', '.join(info['splits'])}")
        labels = info["labels"]
        print(f"  labels:  {'open answer' if labels is None else f'{len(labels)}: ' + ', '.join(labels)}")
        for option in info["options"]:
            print(f"  option:  {option['name']} (default {option['default']!r}) {option['help']}")
        print(f"  answer:  {info['answer']['kind']}" + (f" (extras: {', '.join(info['answer']['extras'])})"
                                                         if info["answer"]["extras"] else ""))
        arrow = "higher is better" if info["higher_is_better"] else "lower is better"
        print(f"  metrics: {', '.join(info['metrics'])} (primary: {info['primary_metric']}, {arrow})")
    for plugin in broken:
        print(f"{plugin.claims[0]}  (broken task plugin)\n  {plugin.problem}")
    return 0
