"""Errors show what they are: a broken parser data file stops scoring naming the file, a broken or
clashing task plugin is one line naming its entry point and distribution (both, for a clash), listed
by `socialfusion tasks`, and fails only the commands that need it."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.registry import TASKS, RegistryError
from socialfusion_plugin.tasks import TaskPluginError, broken_task_plugins, load_entry_point_tasks
from socialfusion_plugin.tasks.base import AnswerDataError
from socialfusion_plugin.tasks.gesture import parse_gesture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broken_synonyms(tmp_path, monkeypatch):
    path = tmp_path / "synonyms.yaml"
    monkeypatch.setattr(parse_gesture, "path", path)
    monkeypatch.setattr(parse_gesture, "_matcher", None)
    return path


@pytest.mark.parametrize("content, message", [
    ("labels: {like: [thumbs up]\n", "not a valid gesture synonyms file"),
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
    assert "not a valid gesture synonyms file" in error and len(error.splitlines()) == 1


def write_distribution(site, name, entry_points, modules):
    info = site / f"{name.replace('-', '_')}-1.2.dist-info"  # as a wheel names it (a '-' ends the name)
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2\n")
    lines = "\n".join(f"{key} = {value}" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[socialfusion_plugin.tasks]\n{lines}\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path to install plugin distributions into; afterwards the plugins this test
    loaded, their tasks and their broken records are gone again."""
    import socialfusion_plugin.tasks as plugins

    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before, tasks_before = set(sys.modules), set(TASKS.names())
    loaded_before, broken_before = dict(plugins._loaded), dict(plugins._broken)
    monkeypatch.setattr(TASKS, "_source_loaded", False)  # as in a new process: plugins load on first use
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith("plugin_"):
            del sys.modules[name]
    for name in set(TASKS.names()) - tasks_before:
        TASKS.unregister(name)
    for records, kept in ((plugins._loaded, loaded_before), (plugins._broken, broken_before)):
        for key in set(records) - set(kept):
            del records[key]


def broken_lines():
    return [plugin.problem for plugin in broken_task_plugins()]


def test_a_plugin_that_fails_to_import_is_one_line_naming_its_distribution(site):
    write_distribution(site, "my-broken-tasks", {"wave": "plugin_broken"},
                       {"plugin_broken": "import no_such_module_here\n"})
    assert "wave" not in load_entry_point_tasks()  # recorded, not raised: the other tasks keep working
    expected = ("task plugin entry point 'wave = plugin_broken' (distribution my-broken-tasks 1.2) "
                "failed to load: ModuleNotFoundError: No module named 'no_such_module_here'")
    assert broken_lines() == [expected]
    with pytest.raises(TaskPluginError) as caught:  # what a command for that task meets
        TASKS.get("wave")
    assert str(caught.value) == expected
    assert TASKS.get("gesture").name == "gesture"
    with pytest.raises(RegistryError, match=r"unknown task 'nope'; .*task plugins that failed to load: "
                                            r"'wave = plugin_broken' \(distribution my-broken-tasks 1.2\)"):
        TASKS.get("nope")


def test_a_plugin_task_whose_name_is_a_builtin_is_broken_and_the_builtin_stays(site):
    write_distribution(site, "my-clashing-tasks", {"gesture": "plugin_clash:TASK"}, {"plugin_clash": """
        from socialfusion_plugin.tasks.gesture import GestureTask
        TASK = GestureTask()
    """})
    original = TASKS.get("gesture")
    load_entry_point_tasks()
    [line] = broken_lines()
    assert line.startswith("task plugin entry point 'gesture = plugin_clash:TASK' "
                           "(distribution my-clashing-tasks 1.2): task name 'gesture' is already registered by socialfusion_plugin.tasks.gesture")
    assert "(built into socialfusion-plugin)" in line and "object at 0x" not in line
    assert TASKS.get("gesture") is original


def test_a_plugin_module_registering_a_taken_name_names_both_sides(site):
    write_distribution(site, "my-clashing-module", {"relation": "plugin_clash_module"}, {"plugin_clash_module": """
        from socialfusion_plugin.registry import TASKS
        from socialfusion_plugin.tasks.relation import RelationTask
        TASKS.register("relation", RelationTask())
    """})
    load_entry_point_tasks()
    [line] = broken_lines()
    assert "(distribution my-clashing-module 1.2): task 'relation' is already registered by " \
           "socialfusion_plugin.tasks.relation" in line
    assert "object at 0x" not in line


def _toy_plugin(task_name):
    return textwrap.dedent(f"""
        from socialfusion_plugin.registry import TASKS
        from toy_task import make_task
        TASKS.register({task_name!r}, make_task(name={task_name!r}))
    """)


def test_two_plugins_with_one_task_name_name_both_distributions_and_the_name_is_refused(site):
    write_distribution(site, "first-tasks", {"wave": "plugin_wave_a"}, {"plugin_wave_a": _toy_plugin("wave")})
    write_distribution(site, "second-tasks", {"wave": "plugin_wave_b"}, {"plugin_wave_b": _toy_plugin("wave")})
    assert load_entry_point_tasks() == ["wave"]
    expected = ("task plugin entry point 'wave = plugin_wave_b' (distribution second-tasks 1.2): task 'wave' is "
                "already registered by distribution first-tasks 1.2, entry point 'wave'; choose another name")
    assert broken_lines() == [expected]
    with pytest.raises(TaskPluginError) as caught:  # not whichever plugin happened to load first
        TASKS.get("wave")
    assert str(caught.value) == expected


def test_a_plugin_that_fails_half_way_leaves_no_task_behind(site):
    write_distribution(site, "my-half-tasks", {"half": "plugin_half"}, {"plugin_half": _toy_plugin("half") + "1 / 0\n"})
    load_entry_point_tasks()
    assert broken_lines() == ["task plugin entry point 'half = plugin_half' (distribution my-half-tasks 1.2) failed "
                              "to load: ZeroDivisionError: division by zero"]
    with pytest.raises(TaskPluginError):
        TASKS.get("half")


def test_a_plugin_that_names_something_else_is_broken(site):
    write_distribution(site, "my-odd-tasks", {"odd": "plugin_odd:VALUE"}, {"plugin_odd": "VALUE = 3\n"})
    load_entry_point_tasks()
    assert broken_lines() == ["task plugin entry point 'odd = plugin_odd:VALUE' (distribution my-odd-tasks 1.2): "
                              "names 3, expected a module that registers its task or a Task instance"]


def test_the_tasks_command_lists_a_broken_plugin_and_commands_needing_it_exit_2(site, tmp_path, capsys):
    write_distribution(site, "my-broken-tasks", {"wave": "plugin_broken"},
                       {"plugin_broken": "raise RuntimeError('no GPU')\n"})
    write_distribution(site, "my-good-tasks", {"toy": "plugin_good"}, {"plugin_good": _toy_plugin("toy")})
    line = ("task plugin entry point 'wave = plugin_broken' (distribution my-broken-tasks 1.2) failed to load: "
            "RuntimeError: no GPU")
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert f"wave  (broken task plugin)\n  {line}\n" in out and "gesture  (" in out and "toy  (" in out
    assert main(["tasks", "--json"]) == 0
    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert listed["wave"]["broken"] == line and listed["wave"]["distribution"] == "distribution my-broken-tasks 1.2"
    assert "splits" in listed["toy"]
    assert main(["tasks", "--names"]) == 0
    printed = capsys.readouterr()
    assert "wave" not in printed.out.split() and "toy" in printed.out.split()
    assert printed.err == f"socialfusion tasks: broken task plugin: {line}\n"
    assert main(["score", "wave", "--predictions", "p.jsonl", "--references", "r.json"]) == 2
    assert capsys.readouterr().err == f"socialfusion score: error: {line}\n"
    # every task: the broken plugin's would be silently missing, so it is refused naming the plugin
    assert main(["eval-suite", "--model-path", str(tmp_path / "no-model"), "--tasks", "all"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("socialfusion eval-suite: error: --tasks all: every registered task, but ") and line in err
    assert len(err.strip().splitlines()) == 1
    references = tmp_path / "refs.json"
    references.write_text(json.dumps([{"id": "g1", "image": "a.jpg", "meta": {"task": "gesture", "label": "like"}}]))
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"id": "g1", "text": "like"}\n')
    assert main(["score", "gesture", "--predictions", str(predictions), "--references", str(references)]) == 0


def test_importing_the_package_loads_no_plugin_and_a_broken_one_costs_only_its_own_commands(tmp_path):
    """A real process with a broken plugin installed: the import and other tasks' commands work, the
    plugin's command is one line and exit 2 (before, every command was a 40-line traceback, exit 1)."""
    site = tmp_path / "site"
    write_distribution(site, "my-broken-tasks", {"wave": "plugin_loud"}, {
        "plugin_loud": "import os\nopen(os.environ['MARK'], 'w').close()\nimport no_such_module_here\n"})
    mark = tmp_path / "imported"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), MARK=str(mark))
    script = textwrap.dedent("""
        import sys
        import socialfusion_plugin
        from socialfusion_plugin.cli.main import main
        print("imported without the plugin:", not __import__("os").path.exists(sys.argv[1]))
        sys.exit(main(sys.argv[2:]))
    """)
    run = subprocess.run([sys.executable, "-c", script, str(mark), "score", "wave", "--predictions", "p.jsonl",
                          "--references", "r.json"], env=env, capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "imported without the plugin: True"
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr  # (the LLaVA lane's torch may print a warning of its own first)
    assert run.stderr.splitlines()[-1] == (
        "socialfusion score: error: task plugin entry point 'wave = plugin_loud' (distribution my-broken-tasks 1.2) "
        "failed to load: ModuleNotFoundError: No module named 'no_such_module_here'")
    assert mark.exists()  # the plugin's import was tried: when the command needed the task list


def test_a_parser_bug_is_counted_as_a_parser_error_not_as_unparsed():
    from socialfusion_plugin.evaluation.scoring import score_predictions
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
