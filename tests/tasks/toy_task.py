"""A minimal task built in a test, with any declaration replaced."""
from socialfusion_plugin.tasks import Task
from socialfusion_plugin.tasks.answer_space import SingleLabel


def make_task(name="toy", **attributes):
    body = {"name": name, "metric_names": ("accuracy",), "primary_metric": "accuracy",
            "answer_space": SingleLabel(labels=("a", "b"), truth="y"),
            "read": lambda self, root, split, options: iter(()),
            "format_answer": lambda self, target, options: target["y"],
            "parse_answer": lambda self, text, options: text.strip() or None,
            "score": lambda self, refs, preds, scores, options: {"accuracy": 0.0}}
    body.update(attributes)
    return type("ToyTask", (Task,), body)()
