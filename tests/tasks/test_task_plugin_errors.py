"""Errors show what they are: a broken parser data file stops scoring naming the file, a broken or
clashing task plugin is named with its entry point and distribution."""
import json
import sys
import textwrap

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks import TaskPluginError, load_entry_point_tasks
from socialfusion_plugin.tasks.base import AnswerDataError
from socialfusion_plugin.tasks.gesture.answers import parse_gesture


@pytest.fixture
def broken_synonyms(tmp_path, monkeypatch):
    path = tmp_path / "synonyms.yaml"
    monkeypatch.setattr(parse_gesture, "path", path)
    monkeypatch.setattr(parse_gesture, "_matcher", None)
    return path


@pytest.mark.parametrize("content, message", [
    ("labels: {like: [thumbs up]\n", "is not valid YAML"),
    ("labels: {banana: [yellow]}\n", "unknown gesture 'banana'"),
    ("words: {}\n", r"unknown key\(s\) words"),
    ("- like\n", "expected a mapping"),
    (None, "cannot be read"),
])
def test_a_broken_synonyms_file_raises_naming_it(broken_synonyms, content, message):
    if content is not None:
        broken_synonyms.write_text(content)
    with pytest.raises(AnswerDataError, match=message) as caught:
        parse_gesture("thumbs up")
    assert str(broken_synonyms) in str(caught.value)


def test_score_stops_on_a_broken_synonyms_file_instead_of_reading_every_answer_as_unparsed(
        broken_synonyms, tmp_path, capsys):
    broken_synonyms.write_text("labels: [\n")
    references = tmp_path / "refs.json"
    references.write_text(json.dumps([{"id": "g1", "image": "a.jpg", "meta": {"task": "gesture", "label": "like"}}]))
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"id": "g1", "text": "like"}\n')
    assert main(["score", "gesture", "--predictions", str(predictions), "--references", str(references)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("socialfusion score: error: ") and str(broken_synonyms) in error
    assert "not valid YAML" in error and len(error.splitlines()) == 1


def write_distribution(site, name, entry_points, modules):
    info = site / f"{name}-1.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2\n")
    lines = "\n".join(f"{key} = {value}" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[socialfusion_plugin.tasks]\n{lines}\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith("plugin_"):
            del sys.modules[name]


def test_a_plugin_that_fails_to_import_is_named_with_its_distribution(site):
    write_distribution(site, "my-broken-tasks", {"wave": "plugin_broken"}, {"plugin_broken": "import no_such_module_here\n"})
    with pytest.raises(TaskPluginError) as caught:
        load_entry_point_tasks()
    assert str(caught.value) == ("task plugin entry point 'wave = plugin_broken' (distribution my-broken-tasks 1.2) "
                                 "failed to load: ModuleNotFoundError: No module named 'no_such_module_here'")
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)  # the plugin's own traceback stays


def test_a_plugin_task_whose_name_is_taken_is_refused(site):
    write_distribution(site, "my-clashing-tasks", {"gesture": "plugin_clash:TASK"}, {"plugin_clash": """
        from socialfusion_plugin.tasks.gesture.task import GestureTask
        TASK = GestureTask()
    """})
    original = TASKS.get("gesture")
    with pytest.raises(TaskPluginError, match=r"'gesture = plugin_clash:TASK' \(distribution my-clashing-tasks 1.2\): "
                                              r"task name 'gesture' is already registered"):
        load_entry_point_tasks()
    assert TASKS.get("gesture") is original


def test_a_plugin_module_registering_a_taken_name_is_refused(site):
    write_distribution(site, "my-clashing-module", {"relation": "plugin_clash_module"}, {"plugin_clash_module": """
        from socialfusion_plugin.registry import TASKS
        from socialfusion_plugin.tasks.relation.task import RelationTask
        TASKS.register("relation", RelationTask())
    """})
    with pytest.raises(TaskPluginError, match=r"distribution my-clashing-module 1.2\): task 'relation' is already registered"):
        load_entry_point_tasks()


def test_a_plugin_that_names_something_else_is_refused(site):
    write_distribution(site, "my-odd-tasks", {"odd": "plugin_odd:VALUE"}, {"plugin_odd": "VALUE = 3\n"})
    with pytest.raises(TaskPluginError, match=r"names 3, expected a module that registers its task or a Task instance"):
        load_entry_point_tasks()


def test_a_parser_bug_is_counted_as_a_parser_error_not_as_unparsed():
    from socialfusion_plugin.tasks.scoring import score_predictions
    from toy_task import make_task

    def parse(self, text, options):
        if text == "boom":
            raise ValueError("parser bug")
        return text or None

    task = make_task(parse_answer=parse, score=lambda self, refs, preds, scores, options: {"accuracy": 0.0, "seen": preds})
    references = [{"id": str(i), "meta": {"task": "toy", "y": "a"}} for i in range(3)]
    result = score_predictions(task, references, {"0": {"id": "0", "text": "boom"}, "1": {"id": "1", "text": ""},
                                                  "2": {"id": "2", "text": "a"}})
    assert (result["parser_errors"], result["unparsed"], result["metrics"]["seen"]) == (1, 2, [None, None, "a"])
