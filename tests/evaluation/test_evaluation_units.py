"""Resume bookkeeping, rank policies, input checks and the runner with a fake model."""
import json

import pytest

from socialfusion_plugin import registry
from socialfusion_plugin.evaluation.prediction_file import PredictionFileError, read_done_ids
from socialfusion_plugin.evaluation.rank_policy import rank_policy
from socialfusion_plugin.evaluation.records import EvalDataError, image_path
from socialfusion_plugin.evaluation.runner import EvalSettings, run_eval


def test_truncated_last_line_is_dropped_but_a_broken_middle_line_is_an_error(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "text": "a"}\n{"id": "2", "te')
    assert read_done_ids(path) == ({"1"}, True)
    assert path.read_text() == '{"id": 1, "text": "a"}\n'
    path.write_text('{"id": 1}\n[]\n{"id": 3}\n')
    with pytest.raises(PredictionFileError, match=r"p.jsonl:2"):
        read_done_ids(path)


def test_rank_policies_of_the_tasks():
    emotion = registry.TASKS.get("emotion")
    policy = rank_policy(emotion, emotion.options(), multi_label_threshold=0.3)
    assert policy.multi_label and not policy.complete and len(policy.options) == 26
    logprobs = {label: -20.0 for label in policy.options}
    logprobs.update({"Peace": -1.0, "Happiness": -1.2, "Anger": -5.0})
    row = policy.prediction(logprobs)
    assert row["text"] == "Happiness, Peace"  # canonical order, both above 0.3
    assert sum(row["scores"].values()) == pytest.approx(1.0)
    video = registry.TASKS.get("gaze_video")
    policy = rank_policy(video, video.options())
    assert policy.options == {"in frame": "(", "out of frame": "out of frame"} and policy.text_from_generation
    row = policy.prediction({"in frame": -0.1, "out of frame": -3.0}, generated="(0.10, 0.20)")
    assert row["text"] == "(0.10, 0.20)" and row["scores"]["in frame"] > 0.9
    gesture = registry.TASKS.get("gesture")
    policy = rank_policy(gesture, gesture.options())
    assert policy.complete and policy.prediction({label: -3.0 for label in policy.options} | {"like": -0.5})["text"] == "like"
    with pytest.raises(ValueError, match="no closed answer set"):
        rank_policy(registry.TASKS.get("gaze"), registry.TASKS.get("gaze").options())


def test_image_paths_stay_inside_the_image_folder(tmp_path):
    with pytest.raises(EvalDataError, match="escapes"):
        image_path({"id": 7, "image": "../../etc/passwd"}, tmp_path, "data.json")
    with pytest.raises(EvalDataError, match="pass --image-folder"):
        image_path({"id": 7, "image": "a.jpg"}, None, "data.json")
    assert image_path({"id": 7, "image": "sub/a.jpg"}, tmp_path, "data.json") == tmp_path / "sub" / "a.jpg"


@pytest.mark.parametrize("bad", [dict(mode="beam"), dict(batch_size=0), dict(temperature=-1.0), dict(limit=0)])
def test_settings_check_themselves(bad):
    with pytest.raises(ValueError):
        EvalSettings(**bad)


def test_runner_batches_resumes_and_names_missing_images(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    records = [{"id": i, "image": "a.png", "conversations": [{"from": "human", "value": f"<image>\nq{i}"}]}
               for i in range(5)]
    calls = []

    def fake_generate(questions, images):
        calls.append(len(questions))
        return [q.split("\n")[1].upper() for q in questions]

    out = tmp_path / "p.jsonl"
    summary = run_eval(records[:3], tmp_path / "d.json", tmp_path, out, EvalSettings(batch_size=2),
                       generate=fake_generate, progress=False)
    assert (summary.written, calls) == (3, [2, 1])
    summary = run_eval(records, tmp_path / "d.json", tmp_path, out, EvalSettings(batch_size=2),
                       generate=fake_generate, progress=False)
    assert (summary.written, summary.already_done) == (2, 3)
    assert [json.loads(l)["text"] for l in out.read_text().splitlines()] == ["Q0", "Q1", "Q2", "Q3", "Q4"]
    records.append({"id": 9, "image": "missing.png", "conversations": [{"from": "human", "value": "q"}]})
    with pytest.raises(FileNotFoundError, match="d.json record 9: image .*missing.png not found"):
        run_eval(records, tmp_path / "d.json", tmp_path, out, EvalSettings(), generate=fake_generate, progress=False)
