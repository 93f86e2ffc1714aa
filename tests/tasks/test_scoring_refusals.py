"""`score` refuses predictions that do not belong to the references (another task, few matching ids,
an id twice, non-finite ranking scores) and counts the ids that are not among the references."""
import json

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.demo.releases import hagrid, pisc
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.conversion import convert
from socialfusion_plugin.evaluation.scoring import ScoringInputError, load_predictions


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    out = {}
    for task, release in (("gesture", hagrid.standard_release(root / "hagrid")),
                          ("relation", pisc.standard_release(root / "pisc"))):
        path = root / f"{task}_test.json"
        convert(TASKS.get(task), release, "test", path, progress=False)
        out[task] = json.loads(path.read_text())
        out[f"{task}_file"] = path
    return out


def write_predictions(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def perfect(records):
    return [{"id": r["id"], "text": r["conversations"][1]["value"]} for r in records]


def test_one_tasks_predictions_scored_as_another_task_are_an_error_with_counts(converted, tmp_path, capsys):
    gesture = converted["gesture"]
    predictions = write_predictions(tmp_path / "gesture.preds.jsonl", perfect(gesture))
    metrics = tmp_path / "m.json"
    argv = ["score", "relation", "--predictions", str(predictions), "--references", str(converted["relation_file"]),
            "--out", str(metrics)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    n = len(converted["relation"])
    assert f"only 0 of the {n} relation references" in err
    assert f"{len(gesture)} of the {len(gesture)} predictions have an id that is not among the references" in err
    assert "at least 50%" in err and not metrics.exists()

    # eval's info beside the predictions names the task: refused even before ids are compared
    (tmp_path / "gesture.eval.json").write_text(json.dumps({"task": "gesture", "limit": None}))
    assert main(argv) == 2
    assert "gesture.eval.json says these predictions are for task 'gesture', not 'relation'" in capsys.readouterr().err


def test_few_matching_ids_are_an_error_but_a_limited_evaluation_is_scored(converted, tmp_path, capsys):
    relation = converted["relation"]
    assert len(relation) >= 3
    predictions = write_predictions(tmp_path / "r.preds.jsonl", perfect(relation[:1]))
    argv = ["score", "relation", "--predictions", str(predictions), "--references", str(converted["relation_file"])]
    assert main(argv) == 2
    assert f"only 1 of the {len(relation)} relation references have a prediction" in capsys.readouterr().err
    (tmp_path / "r.eval.json").write_text(json.dumps({"task": "relation", "limit": 1}))  # eval --limit 1
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["n"], result["missing"], result["extra"]) == (len(relation), len(relation) - 1, 0)


def test_extra_ids_are_counted_in_the_json_and_the_printed_line(converted, tmp_path, capsys):
    relation = converted["relation"]
    rows = perfect(relation) + [{"id": "relation/test/not-a-reference", "text": "friends"},
                                {"id": 12345, "text": "family"}]
    predictions = write_predictions(tmp_path / "p.jsonl", rows)
    metrics = tmp_path / "out" / "m.json"
    assert main(["score", "relation", "--predictions", str(predictions), "--references",
                 str(converted["relation_file"]), "--out", str(metrics)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["extra"] == 2
    assert json.loads(metrics.read_text())["extra"] == 2 and json.loads(metrics.read_text())["metrics"]["accuracy"] == 1.0
    assert "2 extra predictions (ids not in the references, not scored)" in captured.err
    assert [p.name for p in metrics.parent.iterdir()] == ["m.json"]  # written atomically, no scratch file left


def test_a_repeated_id_is_an_error_naming_both_lines(converted, tmp_path, capsys):
    relation = converted["relation"]
    rows = perfect(relation)
    rows.insert(2, {"id": relation[0]["id"], "text": "couple"})  # today the last line would silently win
    predictions = write_predictions(tmp_path / "p.jsonl", rows)
    assert main(["score", "relation", "--predictions", str(predictions), "--references",
                 str(converted["relation_file"])]) == 2
    err = capsys.readouterr().err
    assert f"1 id(s) predicted more than once, e.g. {relation[0]['id']!r} (lines 1 and 3)" in err


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_ranking_scores_are_an_error_naming_the_line(tmp_path, value):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "text": "friends", "scores": {"friends": 0.9, "family": 0.1}}\n'
                    f'{{"id": "b", "text": "friends", "scores": {{"friends": {value}, "family": 0.1}}}}\n')
    with pytest.raises(ScoringInputError, match=r"p.jsonl:2: 'scores' holds a non-finite value for 'friends'"):
        load_predictions(path)
