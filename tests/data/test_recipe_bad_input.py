"""Data recipes that are not recipes: bytes that are not UTF-8, YAML errors and tags, nesting and
integers Python cannot read, non-finite or absurd numbers. Each is a RecipeError naming the file and
the line or key, and one line (exit 2) from `mix`, never a traceback or a silently wrong mixture."""
from __future__ import annotations

import pytest
import yaml

from socialfusion_plugin.cli.main import main
from socialfusion_plugin.data import RecipeError, build_mixture, load_recipe

SOURCE = "  - task: gesture\n    root: ${SOCIALFUSION_DATA}/gesture\n    split: train\n"
RELATION = "  - task: relation\n    root: ${SOCIALFUSION_DATA}/relation\n    split: train\n"


def write(tmp_path, content, name="recipe.yaml"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


BAD_RECIPES = [
    # text that is not a recipe: file and line
    ("not-utf8", b"seed: 0\n# caf\xe9\nsources: []\n", r"recipe.yaml:2: not UTF-8 text \(byte 0xe9"),
    ("python-tag", "seed: !!python/object/apply:os.getcwd []\nsources: []\n",
     r"recipe.yaml:1: not a valid data recipe: could not determine a constructor for the tag"),
    ("syntax", "seed: 0\nsources:\n  - task: gesture\n   root: x\n", r"recipe.yaml:4: not a valid data recipe: "),
    ("unclosed", "seed: 0\nsources: [\n", r"recipe.yaml:3: not a valid data recipe: "),
    ("nested", "seed: 0\nsources:\n" + SOURCE + "x: " + "[" * 5000 + "]" * 5000 + "\n",
     r"recipe.yaml:6: not a valid data recipe: nested too deeply"),
    ("long-seed", "seed: " + "7" * 5000 + "\nsources:\n" + SOURCE,
     r"recipe.yaml:1: not a valid data recipe: an integer of 5000 digits is too long"),
    # numbers that would poison the mixture: the key
    ("temperature-inf", "seed: 0\ntemperature: .inf\nsources:\n" + SOURCE + "    weight: 1\n",
     r"recipe.yaml: 'temperature' must be a finite number > 0, got inf"),
    ("temperature-nan", "seed: 0\ntemperature: .nan\nsources:\n" + SOURCE + "    weight: 1\n",
     r"recipe.yaml: 'temperature' must be a finite number > 0, got nan"),
    ("temperature-0", "seed: 0\ntemperature: 0\nsources:\n" + SOURCE + "    weight: 1\n",
     r"recipe.yaml: 'temperature' must be a finite number > 0, got 0"),
    ("temperature-huge", "seed: 0\ntemperature: " + "9" * 400 + "\nsources:\n" + SOURCE + "    weight: 1\n",
     r"recipe.yaml: 'temperature' must be a finite number > 0"),
    ("weight-inf", "seed: 0\nsources:\n" + SOURCE + "    weight: .inf\n",
     r"recipe.yaml: sources\[0\].weight: must be a positive number \(finite\), got inf"),
    ("weight-nan", "seed: 0\nsources:\n" + SOURCE + "    weight: .nan\n",
     r"recipe.yaml: sources\[0\].weight: must be a positive number \(finite\), got nan"),
    ("weight-huge", "seed: 0\nsources:\n" + SOURCE + "    weight: " + "9" * 400 + "\n",
     r"recipe.yaml: sources\[0\].weight: must be a positive number \(finite\)"),
    ("percent", "seed: 0\nsources:\n" + SOURCE + "    sample: 20000000%\n",
     r"recipe.yaml: sources\[0\].sample: '20000000%' is above the largest sampling of 10000%"),
    ("count", "seed: 0\nsources:\n" + SOURCE + "    sample: first:" + "9" * 30 + "\n",
     r"recipe.yaml: sources\[0\].sample: first:N with 30 digits asks for more records than any source holds"),
]


@pytest.mark.parametrize("content, pattern", [case[1:] for case in BAD_RECIPES], ids=[case[0] for case in BAD_RECIPES])
def test_bad_recipes_name_the_file_and_line_or_key(tmp_path, data_env, content, pattern):
    with pytest.raises(RecipeError, match=pattern):
        load_recipe(write(tmp_path, content))


def test_yaml_errors_stay_yaml_errors(tmp_path, data_env):
    with pytest.raises(yaml.YAMLError, match="recipe.yaml:1:"):
        load_recipe(write(tmp_path, "seed: !!python/name:os.system\nsources: []\n"))


def test_a_folder_where_the_recipe_or_a_json_source_should_be(tmp_path, data_env):
    (tmp_path / "recipe.yaml").mkdir()
    with pytest.raises(RecipeError, match="recipe.yaml: is a folder, not the data recipe"):
        load_recipe(tmp_path / "recipe.yaml")
    (tmp_path / "general.json").mkdir()
    text = f"seed: 0\nsources:\n  - json: {tmp_path / 'general.json'}\n    image_folder: {tmp_path}\n"
    with pytest.raises(RecipeError, match=r"sources\[0\].json: .*general.json is a folder, not a LLaVA JSON file"):
        load_recipe(write(tmp_path, text, "other.yaml"))


def test_a_temperature_near_0_is_an_error_naming_the_recipe_not_an_overflow(tmp_path, data_env):
    recipe = load_recipe(write(tmp_path, "seed: 0\ntemperature: 1.0e-300\nsources:\n" + SOURCE + "    weight: 1\n"
                               + RELATION + "    weight: 1\n"))
    with pytest.raises(RecipeError, match=r"recipe.yaml: 'temperature' 1e-300 .* is beyond a float; "
                                          r"use a temperature of at least"):
        build_mixture(recipe, progress=False)


@pytest.mark.parametrize("content, expected", [
    (b"seed: 0\n# caf\xe9\nsources: []\n", "recipe.yaml:2: not UTF-8 text"),
    ("seed: !!python/object/apply:os.getcwd []\nsources: []\n", "recipe.yaml:1: not a valid data recipe"),
    ("seed: 0\ntemperature: 1.0e-300\nsources:\n" + SOURCE + "    weight: 1\n" + RELATION + "    weight: 1\n",
     "recipe.yaml: 'temperature' 1e-300"),
])
def test_mix_prints_one_line_and_exits_2(tmp_path, data_env, capsys, content, expected):
    code = main(["mix", str(write(tmp_path, content)), "--out", str(tmp_path / "m.json"), "--no-progress",
                 "--workers", "1"])
    error = capsys.readouterr().err
    assert code == 2 and error.startswith("socialfusion mix: error: ") and error.count("\n") == 1, error
    assert expected in error, error
    assert not (tmp_path / "m.json").exists()
