"""`socialfusion compare`: values with bootstrap intervals, paired differences with verdicts, seeds
pooled, no verdict for a side without parseable answers, and the same bytes for the same seed."""
import csv
import json
import statistics

import pytest

from socialfusion_plugin import registry
from socialfusion_plugin.cli.main import main
from socialfusion_plugin.evaluation import compare

GESTURES = ["like", "peace", "palm", "fist"]


def references(tmp_path, per_class=10, name="gesture_test.json"):
    records = [{"id": f"g{i}-{label}", "image": "x.jpg",
                "conversations": [{"from": "human", "value": "<image>\nwhich gesture?"},
                                  {"from": "gpt", "value": label}],
                "meta": {"task": "gesture", "label": label}} for label in GESTURES for i in range(per_class)]
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path, records


def make_run(tmp_path, name, refs_file, records, wrong, text_of_wrong="ok", limit=None):
    """RUN/eval/gesture.{preds.jsonl,eval.json}: correct answers except the records whose index is in `wrong`."""
    eval_dir = tmp_path / name / "eval"
    eval_dir.mkdir(parents=True)
    chosen = records[:limit] if limit else records
    with open(eval_dir / "gesture.preds.jsonl", "w") as handle:
        for index, record in enumerate(chosen):
            text = text_of_wrong if index in wrong else record["meta"]["label"]
            handle.write(json.dumps({"id": record["id"], "text": text}) + "\n")
    (eval_dir / "gesture.eval.json").write_text(json.dumps({"task": "gesture", "data": str(refs_file),
                                                             "task_options": {}, "limit": limit}))
    return tmp_path / name


@pytest.fixture
def runs(tmp_path):
    refs, records = references(tmp_path)
    train, _ = references(tmp_path, per_class=3, name="gesture_train.json")
    return {"refs": refs, "records": records, "train": train,
            "a0": make_run(tmp_path, "a0", refs, records, set(range(0, 40, 10))),  # 36/40 right
            "a1": make_run(tmp_path, "a1", refs, records, set(range(0, 40, 5))),  # 32/40 right
            "b": make_run(tmp_path, "b", refs, records, set(range(0, 40, 2))),  # 20/40 right
            "silent": make_run(tmp_path, "silent", refs, records, set(range(40)), text_of_wrong="(0.87)")}


def test_seeds_pool_pairs_get_verdicts_and_every_format_is_written(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", f"A={runs['a0']}", f"A={runs['a1']}", f"B={runs['b']}", "--train", f"gesture={runs['train']}",
            "--out", str(out), "--resamples", "200"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    result = json.loads((out / "compare.json").read_text())
    task = result["tasks"][0]
    sides = {s["name"]: s for s in task["sides"]}
    assert sides["A"]["values"] == pytest.approx([0.9, 0.8]) and sides["A"]["value"] == pytest.approx(0.85)
    assert sides["A"]["std"] == pytest.approx(statistics.stdev([0.9, 0.8])) and sides["B"]["std"] is None
    assert sides["B"]["value"] == pytest.approx(0.5) and sides["chance"]["value"] == pytest.approx(0.25)
    assert task["chance_answer"] == "fist"  # ties in the training split: first in sorted order
    for side in sides.values():
        assert side["low"] <= side["value"] <= side["high"] and side["unparsed"] == 0
    pairs = {(p["first"], p["second"]): p for p in task["pairs"]}
    assert list(pairs) == [("A", "B"), ("A", "chance"), ("B", "chance")]
    a_b = pairs[("A", "B")]
    assert a_b["difference"] == pytest.approx(0.35) and a_b["verdict"] == "above" and a_b["better"] is True
    assert 0 < a_b["low"] <= a_b["difference"] <= a_b["high"]
    assert "A vs B: above: +0.350 (95% interval +0." in printed
    markdown = (out / "compare.md").read_text()
    assert "| A | 2 | 0.850 ± 0.071 | [" in markdown and "| A - B | +0.350 |" in markdown
    with open(out / "compare.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["kind"], r["name"]) for r in rows] == [("side", "A"), ("side", "B"), ("side", "chance"),
                                                      ("difference", "A - B"), ("difference", "A - chance"),
                                                      ("difference", "B - chance")]
    assert float(rows[0]["value"]) == pytest.approx(0.85) and rows[3]["verdict"] == "above (better)"
    tex = (out / "compare.tex").read_text()
    assert r"\begin{tabular}{lc}" in tex and r"$0.850 \pm 0.071$" in tex and "gesture (f1\\_micro)" in tex
    for chart in ("compare.png", "compare.pdf"):
        assert (out / chart).stat().st_size > 1000

    # same inputs and seed: the same bytes; another seed: other draws
    first = {name: (out / name).read_bytes() for name in ("compare.json", "compare.md", "compare.csv", "compare.tex",
                                                          "compare.png")}
    assert main(argv) == 0
    assert first == {name: (out / name).read_bytes() for name in first}
    assert main(argv + ["--seed", "1"]) == 0
    assert (out / "compare.json").read_bytes() != first["compare.json"]


def test_a_side_without_parseable_answers_gets_that_verdict_everywhere(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(runs["b"]), str(runs["silent"]), "--out", str(out), "--resamples", "50"]) == 0
    printed = capsys.readouterr().out
    pair = json.loads((out / "compare.json").read_text())["tasks"][0]["pairs"][0]
    assert pair["verdict"] == "no parseable answers" and pair["better"] is None
    assert pair["unparsed_sides"] == [{"side": "silent", "unparsed": "40/40"}]
    assert "b vs silent: no parseable answers (40/40) from silent" in printed
    assert "| silent | 1 | 0.000 | [0.000, 0.000] | 40/40 (no parseable answers) |" in (out / "compare.md").read_text()
    assert "no parseable answers (40/40) from silent" in (out / "compare.csv").read_text()
    assert "no parseable answers" in (out / "compare.tex").read_text()


def test_the_threshold_is_more_than_half():
    task = registry.TASKS.get("gesture")
    refs = [{"id": f"r{i}", "meta": {"task": "gesture", "label": "like"}} for i in range(4)]
    half = compare.parse_run(task, refs, {f"r{i}": {"text": "like" if i < 2 else "??"} for i in range(4)})
    most = compare.parse_run(task, refs, {"r0": {"text": "like"}})  # 3 missing
    result = compare.compare_task(task, {"half": [half], "most": [most]}, [("half", "most")], resamples=20)
    assert not result.sides["half"].mostly_unparsed and result.sides["most"].mostly_unparsed
    assert (result.sides["most"].unparsed, result.sides["most"].missing) == (0, 3)
    assert result.pairs[0].describe() == "no parseable answers (3/4) from most"


def test_limited_runs_are_compared_on_the_records_they_answered(runs, tmp_path, capsys):
    short = make_run(tmp_path, "short", runs["refs"], runs["records"], {0}, limit=8)
    out = tmp_path / "cmp"
    assert main(["compare", str(short), str(runs["b"]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "answered other test samples than" in err and "(40 vs 8 records" in err
    other = make_run(tmp_path, "other", runs["refs"], runs["records"], {1, 2}, limit=8)
    assert main(["compare", str(short), str(other), "--out", str(out), "--resamples", "50"]) == 0
    sides = json.loads((out / "compare.json").read_text())["tasks"][0]["sides"]
    assert [(s["name"], s["value"], s["answers"]) for s in sides] == [("short", 7 / 8, 8), ("other", 6 / 8, 8)]


@pytest.mark.parametrize("argv, message", [
    (["chance={a0}"], "the name 'chance' is the chance side's"),
    (["{a0}", "x={a0}"], "the same run folder is given twice"),
    (["{a0}", "{tmp}/nowhere"], "nowhere/eval not found"),
    (["{a0}", "--tasks", "gaze"], "task gaze: no predictions in"),
])
def test_bad_arguments_are_one_line(runs, tmp_path, capsys, argv, message):
    argv = [a.format(a0=runs["a0"], tmp=tmp_path) for a in argv]
    assert main(["compare", *argv, "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_data_root_gives_chance_from_the_converted_training_split(runs, tmp_path):
    from socialfusion_plugin.data_layout import DataLayout

    layout = DataLayout(tmp_path / "data")
    layout.converted("gesture", "train").parent.mkdir(parents=True)
    layout.converted("gesture", "train").write_bytes(runs["train"].read_bytes())
    out = tmp_path / "cmp"
    assert main(["compare", str(runs["b"]), "--data-root", str(layout.root), "--out", str(out), "--resamples", "50"]) == 0
    task = json.loads((out / "compare.json").read_text())["tasks"][0]
    assert [s["name"] for s in task["sides"]] == ["b", "chance"] and task["chance_answer"] == "fist"
    assert [(p["first"], p["second"]) for p in task["pairs"]] == [("b", "chance")]
