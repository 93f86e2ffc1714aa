"""The newest-allowed lane's check of the demo's results table (scripts/lanes/demo_learned.py): a task the
demo teaches passes only when its joint model beats chance outside the noise with parseable answers."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lanes" / "demo_learned.py"


def task(name, low, high, verdict, unparsed=0, n=40):
    return {"task": name, "n": n, "values": {"joint": 0.9, "chance": 0.3}, "unparsed": {"joint": unparsed},
            "comparisons": {"joint-chance": {"difference": (low + high) / 2, "low": low, "high": high, "n": n,
                                             "verdict": verdict, "text": verdict}}}


def run(tmp_path, tasks):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"tasks": tasks}))
    return subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True)


LEARNED = [task("gesture", 0.5, 0.8, "above"), task("relation", 0.6, 0.7, "above"), task("emotion", 0.4, 0.6, "above")]


def test_every_taught_task_above_chance_passes_and_gaze_is_only_reported(tmp_path):
    result = run(tmp_path, LEARNED + [task("gaze", -0.3, -0.1, "below"), task("gaze_video", -0.1, 0.1, "within noise")])
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("demo-learned: ok: ") == 3
    assert "demo-learned: not learned, as expected of the demo's tiny model: gaze: joint" in result.stdout


def test_a_task_within_noise_or_mostly_unparsed_fails(tmp_path):
    within = [task("gesture", -0.05, 0.3, "within noise")] + LEARNED[1:]
    result = run(tmp_path, within)
    assert result.returncode == 1
    assert "demo-learned: FAILED: gesture: joint 0.900 vs chance 0.300, difference +0.125" in result.stdout
    unparsed = LEARNED[:2] + [task("emotion", 0.4, 0.6, "above", unparsed=30)]
    result = run(tmp_path, unparsed)
    assert result.returncode == 1 and "FAILED: emotion:" in result.stdout and "30/40 unparsed" in result.stdout


def test_a_missing_task_fails(tmp_path):
    result = run(tmp_path, LEARNED[:2])
    assert result.returncode == 1 and "FAILED: emotion: not in the results table" in result.stdout
