"""The demo's results table: chance is one fixed answer scored by the task's scorer, each comparison
carries a paired bootstrap interval that decides between 'learned' and 'within noise', and a side
without parseable answers gets no transfer verdict (the numbers come from evaluation/compare.py)."""
import json

from socialfusion_plugin import registry
from socialfusion_plugin.demo import results_table
from socialfusion_plugin.evaluation import compare

GESTURES = ["like", "peace", "palm", "fist"]


def gesture_references(n_per_class):
    return [{"id": f"g{i}-{label}", "meta": {"task": "gesture", "label": label}}
            for label in GESTURES for i in range(n_per_class)]


def answers(references, wrong_every=0):
    """Correct answers, except every `wrong_every`-th one: "ok", a gesture no reference has."""
    out = {}
    for index, record in enumerate(references):
        wrong = wrong_every and index % wrong_every == 0
        out[record["id"]] = {"text": "ok" if wrong else record["meta"]["label"]}
    return out


def pair(task, first, second, name, resamples=400):
    result = compare.compare_task(task, {"a": [first], "b": [second]}, [("a", "b")], seed=0, resamples=resamples)
    return result.pairs[0]


def test_constant_answer_is_the_most_frequent_answer_or_the_mean_point():
    assert compare.constant_answer(["palm", "fist", "palm", "fist", "like"]) == "fist"  # tie: first in sorted order
    assert compare.constant_answer(["(0.20, 0.40)", "(0.40, 0.80)", "out of frame"]) == "(0.30, 0.60)"
    assert compare.constant_answer(["out of frame", "out of frame", "(0.5, 0.5)"]) == "out of frame"


def test_a_clear_gain_is_above_noise_and_equal_answers_are_within_it():
    task = registry.TASKS.get("gesture")
    references = gesture_references(10)
    learned = compare.parse_run(task, references, answers(references, wrong_every=10))
    blind = compare.parse_run(task, references, compare.constant_predictions(references, "like"))
    gain = pair(task, learned, blind, "f1_micro")
    assert abs(gain.value - (0.9 - 0.25)) < 1e-9 and gain.n == 40
    assert 0 < gain.low <= gain.value <= gain.high and not gain.within_noise and gain.better
    same = pair(task, blind, blind, "f1_micro")
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0) and same.within_noise
    assert "within noise" in results_table.verdict(same, "learned", "worse")
    assert results_table.verdict(gain, "learned", "worse").startswith("learned: +0.650 (95% interval +0.")


def test_a_small_difference_on_few_samples_is_within_noise():
    task = registry.TASKS.get("gesture")
    references = gesture_references(3)
    first = compare.parse_run(task, references, answers(references, wrong_every=4))  # 9 of 12 right
    second = compare.parse_run(task, references, answers(references, wrong_every=3))  # 8 of 12 right
    difference = pair(task, first, second, "f1_micro")
    assert abs(difference.value - 1 / 12) < 1e-9 and difference.within_noise


def test_per_sample_values_are_used_only_when_they_reproduce_the_metric():
    gesture = registry.TASKS.get("gesture")
    references = gesture_references(2)
    run = compare.parse_run(gesture, references, answers(references, wrong_every=2))
    assert compare.per_sample(gesture, run, "f1_micro") == [0.0, 1.0] * 4
    emotion = registry.TASKS.get("emotion")
    people = [{"id": f"p{i}", "meta": {"task": "emotion", "categories": [name]}}
              for i, name in enumerate(["Anger", "Fear", "Anger", "Sadness"])]
    guesses = {f"p{i}": {"text": text} for i, text in enumerate(["Anger", "Anger", "Fear", "Sadness"])}
    assert compare.per_sample(emotion, compare.parse_run(emotion, people, guesses), "mean_ap") is None  # not a mean
    interval = pair(emotion, compare.parse_run(emotion, people, guesses),
                    compare.parse_run(emotion, people, compare.constant_predictions(people, "Anger")), "mean_ap",
                    resamples=50)
    assert interval is not None and interval.low <= interval.value <= interval.high


def gaze_files(tmp_path, joint_text, single_text):
    """A gaze test split of 24 people, its training split, and predictions: the joint model answers
    `joint_text`, the single-task model `single_text`, for every person."""
    people = [{"id": f"p{i}", "image": "x.jpg", "conversations": [{"from": "human", "value": "<image>\nwhere?"},
                                                                  {"from": "gpt", "value": "(0.50, 0.50)"}],
               "meta": {"task": "gaze", "split": "test", "image_size": [20, 10], "eye": [0.5, 0.2],
                        "head_box": [0.4, 0.1, 0.6, 0.3], "gaze_points": [[0.2 + 0.02 * i, 0.5]]}}
              for i in range(24)]
    test, train = tmp_path / "gaze_test.json", tmp_path / "gaze_train.json"
    test.write_text(json.dumps(people))
    train.write_text(json.dumps(people))
    files = {}
    for column, text in (("joint", joint_text), ("single", single_text), ("untrained", single_text)):
        files[column] = tmp_path / f"{column}.preds.jsonl"
        files[column].write_text("".join(json.dumps({"id": p["id"], "text": text}) + "\n" for p in people))
    return test, train, files


def test_a_side_without_parseable_answers_gets_no_transfer_verdict(tmp_path):
    """The issue's case: single-task gaze answered "(0.87)" 24 times; its AUC is the floor value, and
    'joint vs single' must say so, not 'positive transfer'."""
    registry.TASKS.get("gaze")
    test, train, files = gaze_files(tmp_path, "(0.30, 0.50)", "(0.87)")
    result = results_table.task_result("gaze", test, train, files, seed=0)
    assert result.unparsed == {"untrained": 24, "joint": 0, "single": 24, "chance": 0}
    joint_single = result.differences["joint-single"]
    assert joint_single.verdict == compare.NO_PARSEABLE and joint_single.better is None
    lines = "\n".join(results_table.summary_lines([result]))
    assert "joint vs single    no parseable answers (24/24) from single" in lines
    assert "joint vs untrained no parseable answers (24/24) from untrained" in lines
    assert "transfer" not in lines
    table = "\n".join(results_table.table_lines([result]))
    assert "(24/24)" in table and "(0/24)" in table
    written = results_table.to_json([result])["tasks"][0]
    assert written["unparsed"]["single"] == 24 and written["comparisons"]["joint-single"]["verdict"] == "no parseable answers"


def test_the_results_table_is_the_same_for_the_same_seed(tmp_path):
    test, train, files = gaze_files(tmp_path, "(0.30, 0.50)", "(0.60, 0.40)")
    first = results_table.to_markdown([results_table.task_result("gaze", test, train, files, seed=3)])
    again = results_table.to_markdown([results_table.task_result("gaze", test, train, files, seed=3)])
    assert first == again and "joint vs chance" in first
