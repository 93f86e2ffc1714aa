"""One data layout: the data recipes, the shell recipes, the examples of the README and docs/ and the
commands' defaults all name the paths socialfusion_plugin/data_layout.py defines."""
import re
import shlex
from pathlib import Path

import pytest
import yaml

from socialfusion_plugin import registry
from socialfusion_plugin.data_layout import DEFAULT_ROOT, ENV_VAR, DataLayout, data_root
from socialfusion_plugin.errors import UserInputError

REPO = Path(__file__).resolve().parent.parent
RECIPES = sorted((REPO / "socialfusion_plugin" / "resources" / "data_recipes").glob("*.yaml"))
SCRIPTS = sorted((REPO / "recipes").glob("*.sh"))
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
SIXTH_TASK_PAGE = REPO / "docs" / "adding-a-task.md"  # it converts a made-up task of its own
ROOT = "${SOCIALFUSION_DATA:-data}"
MENTION = re.compile(r"\$\{?SOCIALFUSION_DATA(?::-([^}]*))?\}?((?:/[\w.<>{},-]+)*)")


def allowed_suffixes():
    """Every path under the root the layout defines, written relative to it ('' = the root itself)."""
    layout = DataLayout(Path("/ROOT"))
    # "smile": docs/adding-a-task.md's sixth-task example, a plugin task that is not registered here
    names = registry.list_tasks() + ["<task>", "smile"]
    allowed = {"", "/" + layout.general_images.relative_to(layout.root).as_posix(),
               "/" + layout.general_data.relative_to(layout.root).as_posix()}
    for name in names:
        allowed.add("/" + layout.release(name).relative_to(layout.root).as_posix())
        splits = list(registry.TASKS.get(name).splits) if name in registry.list_tasks() else ["train", "test"]
        for split in splits + ["<split>"]:
            allowed.add("/" + layout.converted(name, split).relative_to(layout.root).as_posix())
    allowed.add("/converted")
    return allowed


def test_the_layout_paths():
    layout = DataLayout(Path("d"))
    assert layout.release("gesture") == Path("d/gesture")
    assert layout.converted("gaze_video", "test") == Path("d/converted/gaze_video_test.json")
    assert layout.general_data == Path("d/llava/llava_v1_5_mix665k.json")
    assert data_root(None, {ENV_VAR: "/x"}) == Path("/x") and data_root(None, {}) == Path(DEFAULT_ROOT)
    assert data_root("flag", {ENV_VAR: "/x"}) == Path("flag")
    for bad in ("converted", "../x", ""):
        with pytest.raises(UserInputError, match="cannot name a folder"):
            layout.release(bad)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_data_recipes_read_the_layout(recipe):
    layout = DataLayout(Path(ROOT))
    for source in yaml.safe_load(recipe.read_text())["sources"]:
        if "task" in source:
            assert source["root"] == str(layout.release(source["task"])), recipe.name
        else:
            assert (source["json"], source["image_folder"]) == (str(layout.general_data), str(layout.general_images))


@pytest.mark.parametrize("path", SCRIPTS + RECIPES + DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_mention_of_the_data_root_is_a_layout_path(path):
    allowed = allowed_suffixes()
    found = MENTION.findall(path.read_text(encoding="utf-8"))
    for default, suffix in found:
        assert default in ("", DEFAULT_ROOT), f"{path.name}: default data root {default!r}"
        suffix = suffix.rstrip(".,")
        if suffix.count("}") > suffix.count("{"):  # the closing brace of ${GENERAL_IMAGES:-$SOCIALFUSION_DATA/llava}
            suffix = suffix[:-1]
        assert suffix in allowed or suffix.startswith("/llava/"), f"{path.name}: $SOCIALFUSION_DATA{suffix}"


def test_shell_recipes_default_to_the_layout_root():
    for script in SCRIPTS:
        for default in re.findall(r"SOCIALFUSION_DATA=\"?\$\{SOCIALFUSION_DATA:-([^}]*)\}", script.read_text()):
            assert default == DEFAULT_ROOT, script.name
    text = (REPO / "recipes" / "eval_socialfusion.sh").read_text()
    assert '--data-root "$SOCIALFUSION_DATA"' in text
    assert "GENERAL_IMAGES=${GENERAL_IMAGES:-$SOCIALFUSION_DATA/" + DataLayout(Path(".")).general_images.name + "}" in text


def documented_convert_commands():
    for page in DOCS:
        if page == SIXTH_TASK_PAGE:
            continue
        for match in re.finditer(r"`(socialfusion convert [^`]+)`", page.read_text(encoding="utf-8")):
            yield shlex.split(match.group(1).replace("|", " "))


def test_documented_convert_examples_use_the_layout():
    commands = [c for c in documented_convert_commands() if c[2] not in ("TASK", "<task>")]
    assert {c[2] for c in commands} == set(registry.list_tasks())
    layout = DataLayout(Path("$SOCIALFUSION_DATA"))
    for command in commands:
        task, split = command[2], command[command.index("--split") + 1]
        if "--root" in command:
            assert command[command.index("--root") + 1] == str(layout.release(task)), command
        if "--out" in command:
            assert command[command.index("--out") + 1] == str(layout.converted(task, split)), command


def test_convert_defaults_to_the_layout(tmp_path, monkeypatch, capsys):
    from socialfusion_plugin.cli.main import main
    from socialfusion_plugin.demo.releases import pisc

    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    layout = DataLayout(tmp_path)
    pisc.standard_release(layout.release("relation"))
    assert main(["convert", "relation", "--split", "test", "--no-progress"]) == 0
    assert layout.converted("relation", "test").is_file()
    assert f"wrote {layout.converted('relation', 'test')}" in capsys.readouterr().out


def test_probe_and_conflict_data_root_read_the_layout(tmp_path):
    from socialfusion_plugin.analysis.conflict.task_batches import task_locations
    from socialfusion_plugin.analysis.probe_data import task_files

    layout = DataLayout(tmp_path)
    files = task_files("gaze", tmp_path, {})
    assert (files.train, files.test, files.image_folder) == (layout.converted("gaze", "train"),
                                                             layout.converted("gaze", "test"), layout.release("gaze"))
    assert task_locations("gaze", tmp_path, {}, {}) == (layout.converted("gaze", "train"), layout.release("gaze"))
