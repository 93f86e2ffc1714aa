"""The demo's results table: chance is one fixed answer scored by the task's scorer, and each
comparison carries a paired bootstrap interval that decides between 'learned' and 'within noise'."""
from socialfusion_plugin import registry
from socialfusion_plugin.demo import chance, noise, results_table

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


def test_constant_answer_is_the_most_frequent_answer_or_the_mean_point():
    assert chance.constant_answer(["palm", "fist", "palm", "fist", "like"]) == "fist"  # tie: first in sorted order
    assert chance.constant_answer(["(0.20, 0.40)", "(0.40, 0.80)", "out of frame"]) == "(0.30, 0.60)"
    assert chance.constant_answer(["out of frame", "out of frame", "(0.5, 0.5)"]) == "out of frame"


def test_a_clear_gain_is_above_noise_and_equal_answers_are_within_it():
    task = registry.TASKS.get("gesture")
    references = gesture_references(10)
    learned = noise.parse_run(task, references, answers(references, wrong_every=10))
    blind = noise.parse_run(task, references, chance.constant_predictions(references, "like"))
    gain = noise.paired_difference(task, learned, blind, "f1_micro")
    assert abs(gain.value - (0.9 - 0.25)) < 1e-9 and gain.n == 40
    assert 0 < gain.low <= gain.value <= gain.high and not gain.within_noise
    same = noise.paired_difference(task, blind, blind, "f1_micro")
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0) and same.within_noise
    assert "within noise" in results_table.verdict(same, "learned", "worse")
    assert results_table.verdict(gain, "learned", "worse").startswith("learned: +0.650 (95% interval +0.")


def test_a_small_difference_on_few_samples_is_within_noise():
    task = registry.TASKS.get("gesture")
    references = gesture_references(3)
    first = noise.parse_run(task, references, answers(references, wrong_every=4))  # 9 of 12 right
    second = noise.parse_run(task, references, answers(references, wrong_every=3))  # 8 of 12 right
    difference = noise.paired_difference(task, first, second, "f1_micro")
    assert abs(difference.value - 1 / 12) < 1e-9 and difference.within_noise


def test_per_sample_values_are_used_only_when_they_reproduce_the_metric():
    gesture = registry.TASKS.get("gesture")
    references = gesture_references(2)
    run = noise.parse_run(gesture, references, answers(references, wrong_every=2))
    assert noise.per_sample(gesture, run, "f1_micro") == [0.0, 1.0] * 4
    emotion = registry.TASKS.get("emotion")
    people = [{"id": f"p{i}", "meta": {"task": "emotion", "categories": [name]}}
              for i, name in enumerate(["Anger", "Fear", "Anger", "Sadness"])]
    guesses = {f"p{i}": {"text": text} for i, text in enumerate(["Anger", "Anger", "Fear", "Sadness"])}
    assert noise.per_sample(emotion, noise.parse_run(emotion, people, guesses), "mean_ap") is None  # AP is not a mean
    interval = noise.paired_difference(emotion, noise.parse_run(emotion, people, guesses),
                                       noise.parse_run(emotion, people, chance.constant_predictions(people, "Anger")),
                                       "mean_ap", resamples=50)
    assert interval is not None and interval.low <= interval.value <= interval.high
