"""Checks a demo run's results.json: every task the demo can teach was learned, measured as users measure it.

CI's newest-allowed lane runs the whole `socialfusion demo` (stage 1, joint training on the shipped
social5_general recipe, eval-suite through the tasks' own prompts, parsers and scorers); this reads its
results table afterwards, so the check costs no extra training. A task is learned when the joint
model's answers are mostly parseable and its joint-vs-chance difference (95% paired bootstrap over the
test samples, evaluation/compare.py) lies above 0 with its whole interval.

gaze and gaze_video are not expected to learn in the demo: its tiny random language model does not
learn coordinates from the image (docs/demo.md: "What the demo can and cannot learn"). Their line is printed
and does not fail the check; when they start to learn, the line says so, and they belong in LEARNED.
Usage: python scripts/lanes/demo_learned.py DEMO_WORKDIR/results.json   (exit 1 when a task did not learn)
"""
import json
import sys

LEARNED = ("gesture", "relation", "emotion")
NOT_LEARNED_BY_THE_DEMO = ("gaze", "gaze_video")


def learned(task: dict) -> tuple:
    """(whether the joint model beat chance outside the noise, the line that says how it did)."""
    pair = task["comparisons"].get("joint-chance")
    unparsed, n = task["unparsed"].get("joint"), task["n"]
    if pair is None or pair.get("low") is None:
        return False, f"{task['task']}: no joint-vs-chance interval ({pair and pair.get('text')})"
    line = (f"{task['task']}: joint {task['values']['joint']:.3f} vs chance {task['values']['chance']:.3f}, "
            f"difference {pair['difference']:+.3f} (95% interval {pair['low']:+.3f} to {pair['high']:+.3f}, "
            f"n={pair['n']}), {unparsed}/{n} unparsed")
    parseable = unparsed is not None and unparsed <= n / 2
    return parseable and pair["verdict"] == "above" and pair["low"] > 0, line


def check(results: dict) -> int:
    tasks = {task["task"]: task for task in results["tasks"]}
    failed = 0
    for name in LEARNED:
        if name not in tasks:
            print(f"demo-learned: FAILED: {name}: not in the results table")
            failed = 1
            continue
        ok, line = learned(tasks[name])
        print(f"demo-learned: {'ok' if ok else 'FAILED'}: {line}")
        failed |= not ok
    for name in NOT_LEARNED_BY_THE_DEMO:
        if name in tasks:
            ok, line = learned(tasks[name])
            note = "learned: move it to LEARNED" if ok else "not learned, as expected of the demo's tiny model"
            print(f"demo-learned: {note}: {line}")
    return int(failed)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1], encoding="utf-8") as handle:
        sys.exit(check(json.load(handle)))
