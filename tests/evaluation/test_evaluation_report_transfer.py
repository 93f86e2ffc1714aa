"""Report and transfer outputs on constructed inputs with known answers."""
import json

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.evaluation.report import build_report
from socialfusion_plugin.evaluation.transfer import relative_change, transfer_table


def relation_run(tmp_path, answers, name="run"):
    """Six fine-granularity references; `answers` maps id -> answer text (missing ids: no line)."""
    truths = ["friends", "friends", "family", "couple", "professional", "no relation"]
    refs = [{"id": f"r{i}", "image": "x.jpg", "conversations": [],
             "meta": {"task": "relation", "label": label, "granularity": "fine"}} for i, label in enumerate(truths)]
    refs_file = tmp_path / f"{name}-refs.json"
    refs_file.write_text(json.dumps(refs))
    run = tmp_path / name
    (run / "eval").mkdir(parents=True)
    with open(run / "eval" / "relation.preds.jsonl", "w") as handle:
        for key, text in answers.items():
            handle.write(json.dumps({"id": key, "text": text}) + "\n")
    return run, refs_file


def test_report_scores_confusion_and_charts_match_hand_counts(tmp_path):
    answers = {"r0": "friends", "r1": "family", "r2": "family", "r3": "gibberish", "r4": "professional"}
    run, refs = relation_run(tmp_path, answers)
    report = build_report(run, {"relation": refs})
    task = report["tasks"]["relation"]
    assert (task["n"], task["unparsed"], task["missing"]) == (6, 1, 1)
    assert task["metrics"]["accuracy"] == pytest.approx(3 / 6)
    assert task["per_class_recall"]["friends"] == pytest.approx(0.5)
    assert task["per_class_recall"]["commercial"] is None
    confusion = task["confusion"]
    row = confusion["rows"].index("friends")
    assert confusion["counts"][row][confusion["columns"].index("family")] == 1
    assert confusion["columns"][-1] == "(unparsed)"
    assert sum(map(sum, confusion["counts"])) == 6  # the missing prediction counts as unparsed
    for chart in ("relation.confusion.png", "relation.ap.png"):  # relation is scored by AP
        data = (run / "eval" / chart).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    metrics = json.loads((run / "eval" / "relation.metrics.json").read_text())
    assert metrics["metrics"]["accuracy"] == pytest.approx(0.5)
    assert "| relation | n/a | 6 | 1 | 1 | mean_ap (higher is better) |" in (run / "eval" / "report.md").read_text()


def test_report_without_references_names_what_to_pass(tmp_path, capsys):
    run, _ = relation_run(tmp_path, {"r0": "friends"})
    assert main(["report", str(run)]) == 2
    assert "--references relation=FILE.json" in capsys.readouterr().err


def write_metrics(run, task, metrics):
    (run / "eval").mkdir(parents=True, exist_ok=True)
    (run / "eval" / f"{task}.metrics.json").write_text(json.dumps({"task": task, "metrics": metrics}))


def test_transfer_table_math_sign_flip_and_negative_transfer(tmp_path, monkeypatch):
    from socialfusion_plugin import registry

    monkeypatch.setattr(registry.TASKS.get("gaze"), "higher_is_better", False)  # pretend AUC were a loss
    joint, single_g, single_r = tmp_path / "joint", tmp_path / "single-gesture", tmp_path / "single-relation"
    single_z = tmp_path / "single-gaze"
    write_metrics(single_g, "gesture", {"f1_micro": 0.80})
    write_metrics(single_r, "relation", {"mean_ap": 0.50})
    write_metrics(single_z, "gaze", {"auc": 0.40})
    write_metrics(joint, "gesture", {"f1_micro": 0.88})
    write_metrics(joint, "relation", {"mean_ap": 0.45})
    write_metrics(joint, "gaze", {"auc": 0.30})
    table = transfer_table({"gesture": single_g, "relation": single_r, "gaze": single_z}, joint)
    changes = {row["task"]: row["relative_change"] for row in table["rows"]}
    assert changes["gesture"] == pytest.approx(0.10)
    assert changes["relation"] == pytest.approx(-0.10)
    assert changes["gaze"] == pytest.approx(0.25)  # lower is better: 0.40 -> 0.30 is a 25 % improvement
    assert table["mean_relative_change"] == pytest.approx((0.10 - 0.10 + 0.25) / 3)
    assert table["tasks_with_negative_transfer"] == ["relation"]
    out = tmp_path / "transfer"
    assert main(["transfer", "--single", f"gesture={single_g}", "--single", f"relation={single_r}",
                 "--joint", str(joint), "--out", str(out)]) == 0
    written = json.loads((out / "transfer.json").read_text())
    assert written["mean_relative_change"] == pytest.approx(0.0)
    assert "NEGATIVE TRANSFER" in (out / "transfer.md").read_text()
    assert (out / "transfer.png").read_bytes()[:4] == b"\x89PNG"


def test_transfer_edge_cases(tmp_path, capsys):
    assert relative_change(0.0, 0.5, True) is None
    assert relative_change(None, 0.5, True) is None
    assert relative_change(2.0, 1.0, False) == pytest.approx(0.5)
    assert main(["transfer", "--single", f"gesture={tmp_path / 'nope'}", "--joint", str(tmp_path)]) == 2
    assert "gesture.metrics.json not found" in capsys.readouterr().err


def test_transfer_says_no_parseable_answers_where_a_side_answered_nothing(tmp_path, capsys):
    """The demo's gaze case: the single-task model answered "(0.87)" for all 24 people, so its AUC is
    the floor value 0; no transfer is claimed, and table, chart note and printed line agree."""
    from socialfusion_plugin.evaluation.transfer import _chart_note

    joint, single = tmp_path / "joint", tmp_path / "single"
    for run, auc, unparsed in ((joint, 0.456, 0), (single, 0.0, 24)):
        (run / "eval").mkdir(parents=True)
        (run / "eval" / "gaze.metrics.json").write_text(json.dumps(
            {"task": "gaze", "n": 24, "unparsed": unparsed, "missing": 0, "metrics": {"auc": auc}}))
    table = transfer_table({"gaze": single}, joint)
    row = table["rows"][0]
    assert row["relative_change"] is None and not row["negative_transfer"]
    assert row["no_parseable_answers"] == "no parseable answers (24/24) from single"
    assert (row["single_unparsed"], row["joint_unparsed"]) == ("24/24", "0/24")
    assert table["no_parseable_answers"] == ["gaze"] and table["undefined"] == []
    assert _chart_note(row["no_parseable_answers"]) == "no parseable answers (24/24)\nfrom single"
    out = tmp_path / "transfer"
    assert main(["transfer", "--single", f"gaze={single}", "--joint", str(joint), "--out", str(out)]) == 0
    assert "-> n/a  no parseable answers (24/24) from single" in capsys.readouterr().out
    markdown = (out / "transfer.md").read_text()
    assert "| gaze | auc ↑ | 0.0000 | 24/24 | 0.4560 | 0/24 | n/a | no parseable answers (24/24) from single |" in markdown


def test_a_limited_evaluation_is_scored_on_exactly_the_records_it_answered(tmp_path):
    answers = {"r0": "friends", "r1": "family", "r2": "family", "r3": "couple"}  # the first 4 of 6
    run, refs = relation_run(tmp_path, answers)
    (run / "eval" / "relation.eval.json").write_text(json.dumps(
        {"task": "relation", "data": str(refs), "task_options": {"granularity": "fine"}, "limit": 4}))
    task = build_report(run)["tasks"]["relation"]
    assert (task["n"], task["missing"], task["unparsed"], task["limit"], task["available"]) == (4, 0, 0, 4, 6)
    assert task["metrics"]["accuracy"] == pytest.approx(3 / 4)  # not 3/6: r4, r5 were never asked
    assert "| relation | n/a | 4 (limit: first 4 of 6) | 0 | 0 |" in (run / "eval" / "report.md").read_text()
