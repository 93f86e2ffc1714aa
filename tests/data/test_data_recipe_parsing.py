"""Data recipes: every shipped recipe loads; parsing is strict and names the file and key."""
from pathlib import Path

import pytest

from socialfusion_plugin.data import RecipeError, load_recipe
from socialfusion_plugin.data.recipe import Strategy, expand_variables

RECIPES = Path(__file__).resolve().parents[2] / "data_recipes"

SHIPPED = sorted(RECIPES.glob("*.yaml"))
TASKS = ("gesture", "relation", "gaze", "gaze_video", "emotion")


def test_the_expected_recipes_are_shipped():
    names = {path.stem for path in SHIPPED}
    assert {"social5", "social5_general"} | {f"single_{task}" for task in TASKS} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_recipe_loads_against_generated_data(path, data_env):
    recipe = load_recipe(path)
    assert recipe.seed == 0
    for source in recipe.sources:
        # paths come from $SOCIALFUSION_DATA, never from a cluster path written in the recipe
        assert str(source.path).startswith(str(data_env)), source.path
    text = path.read_text()
    assert "${SOCIALFUSION_DATA:-data}/" in text and "/home/" not in text and "/mnt/" not in text


def test_shipped_recipes_have_the_documented_sources(data_env):
    assert [s.task for s in load_recipe(RECIPES / "social5.yaml").sources] == list(TASKS)
    general = load_recipe(RECIPES / "social5_general.yaml")
    assert [s.task for s in general.sources[:5]] == list(TASKS)
    assert general.temperature == 2.0 and all(s.weight == 1.0 for s in general.sources[:5])
    assert general.sources[5].kind == "json" and general.sources[5].name == "general"
    assert general.sources[5].strategy == Strategy("percent", 20.0)
    for task in TASKS:
        (source,) = load_recipe(RECIPES / f"single_{task}.yaml").sources
        assert source.task == task and source.strategy == Strategy("all")


def test_the_data_root_defaults_to_data_in_the_working_directory(monkeypatch, tmp_path, social_data):
    monkeypatch.delenv("SOCIALFUSION_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"sources\[0\]\.root: dataset root .*/data/gesture does not exist"):
        load_recipe(RECIPES / "social5.yaml")
    (tmp_path / "data").symlink_to(social_data)
    assert load_recipe(RECIPES / "social5.yaml").sources[0].path == tmp_path / "data" / "gesture"


def test_expand_variables():
    env = {"A": "/x", "EMPTY": ""}
    assert expand_variables("${A}/y", "k", env) == "/x/y"
    assert expand_variables("${B:-rel}/y", "k", env) == "rel/y"
    assert expand_variables("${EMPTY:-d}", "k", env) == "d"
    assert expand_variables("$A/${A}", "k", env) == "$A//x"  # only the braced forms expand
    with pytest.raises(RecipeError, match=r"file.yaml: sources\[1\].root: environment variable B is not set"):
        expand_variables("${B}/y", "file.yaml: sources[1].root", env)


def write(tmp_path, text, name="recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD_SOURCE = "  - task: gesture\n    root: ${SOCIALFUSION_DATA}/gesture\n    split: train\n"


@pytest.mark.parametrize("text, error, pattern", [
    ("seed: 0\nsedd: 1\nsources:\n" + GOOD_SOURCE, RecipeError, r"recipe.yaml: unknown key\(s\) sedd"),
    ("sources:\n" + GOOD_SOURCE, RecipeError, r"recipe.yaml: 'seed' is required"),
    ("seed: 0\nsources:\n" + GOOD_SOURCE + "    sampel: all\n", RecipeError,
     r"recipe.yaml: sources\[0\]: unknown key\(s\) sampel"),
    ("seed: 0\nsources:\n" + GOOD_SOURCE + "    sample: some:3\n", RecipeError,
     r"recipe.yaml: sources\[0\].sample: bad sampling strategy 'some:3'; use one of: all, first:N, random:N, N%"),
    ("seed: 0\nsources:\n" + GOOD_SOURCE + "    sample: all\n    weight: 2\n", RecipeError,
     r"sources\[0\]: give either 'weight' or 'sample', not both"),
    ("seed: 0\nsources:\n" + GOOD_SOURCE + "    weight: -1\n", RecipeError, r"sources\[0\].weight: must be a positive"),
    ("seed: 0\ntemperature: 2\nsources:\n" + GOOD_SOURCE, RecipeError,
     r"'temperature' balances weighted sources, but no source has a weight"),
    ("seed: 0\nsources:\n" + GOOD_SOURCE + "    options: {keep_no_gestur: false}\n", ValueError,
     r"sources\[0\].options: unknown option\(s\) keep_no_gestur"),
    ("seed: 0\nsources:\n  - task: gestures\n    root: x\n    split: train\n", RecipeError,
     r"sources\[0\].task: unknown task 'gestures'"),
    ("seed: 0\nsources:\n" + GOOD_SOURCE.replace("train", "dev"), RecipeError,
     r"sources\[0\].split: task gesture has no split 'dev'"),
    ("seed: 0\nsources:\n" + GOOD_SOURCE.replace("}/gesture", "}/nothing-here"), FileNotFoundError,
     r"sources\[0\].root: dataset root .*nothing-here does not exist"),
    ("seed: 0\nsources:\n  - json: ${SOCIALFUSION_DATA}/llava/missing.json\n    image_folder: x\n", FileNotFoundError,
     r"sources\[0\].json: LLaVA JSON .*missing.json not found"),
    ("seed: 0\nsources:\n  - json: ${SOCIALFUSION_DATA}/llava/llava_v1_5_mix665k.json\n", RecipeError,
     r"sources\[0\]: a json source needs 'image_folder'"),
    ("seed: 0\nsources:\n  - task: gesture\n    json: a.json\n", RecipeError, r"exactly one of 'task'"),
    ("seed: 0\nsources:\n" + GOOD_SOURCE + GOOD_SOURCE, RecipeError,
     r"source names must be unique; give a 'name' to the sources called gesture"),
    ("seed: 0\nmax_samples: 0\nsources:\n" + GOOD_SOURCE, RecipeError, r"'max_samples' must be a positive integer"),
    ("seed: 0\nsources: []\n", RecipeError, r"'sources' lists no source"),
])
def test_bad_recipes_fail_naming_file_and_key(text, error, pattern, tmp_path, data_env):
    with pytest.raises(error, match=pattern):
        load_recipe(write(tmp_path, text))


def test_missing_recipe_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="data recipe .*nope.yaml not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_yaml_tags_are_refused(tmp_path, data_env):
    # safe_load: a recipe cannot construct Python objects
    import yaml

    with pytest.raises(yaml.YAMLError):
        load_recipe(write(tmp_path, "seed: !!python/object/apply:os.getcwd []\nsources: []\n"))
