"""One strict reader for every configuration: a YAML file is a mapping of known keys, a mapping fills a
dataclass's fields and nothing else; every refusal names the file (or place) and the key, as the
caller's own error class."""
from dataclasses import dataclass

import pytest
import yaml

from socialfusion_plugin.config_files import dataclass_from_mapping, read_yaml_mapping
from socialfusion_plugin.data import RecipeError, load_recipe
from socialfusion_plugin.evaluation.suite import SuiteError, load_suite
from socialfusion_plugin.registry import TASKS
from socialfusion_plugin.tasks.base import AnswerDataError, TaskOptionsError
from socialfusion_plugin.tasks.phrase_matching import load_synonym_matcher
from socialfusion_plugin.tasks.conversion import PromptSet, PromptFileError


class ConfigError(ValueError):
    pass


def write(tmp_path, content, name="config.yaml"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("content, message", [
    ("a: 1\nc: 2\nd: 3\n", "config.yaml: unknown key(s) c, d; allowed: a, b"),
    ("a: [1\n", "config.yaml:2: not a valid test config: "),
    ("a: !!python/object/apply:os.getcwd []\n", "config.yaml:1: not a valid test config: could not determine a constructor"),
    ("a: " + "7" * 5000 + "\n", "config.yaml:1: not a valid test config: an integer of 5000 digits is too long"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "not a valid test config: nested too deeply"),
    (b"a: 1\n# caf\xe9\n", "config.yaml:2: not UTF-8 text (byte 0xe9"),
    ("- a\n- b\n", "config.yaml: expected a mapping with the keys a, b"),
])
def test_a_yaml_file_that_is_not_a_mapping_of_known_keys_is_refused_naming_the_file(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        read_yaml_mapping(path, "test config", ("a", "b"), ConfigError)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_a_yaml_file_of_known_keys_is_read_and_an_empty_one_is_an_empty_mapping(tmp_path):
    assert read_yaml_mapping(write(tmp_path, "b: [1, 2]\n"), "test config", ("a", "b"), ConfigError) == {"b": [1, 2]}
    assert read_yaml_mapping(write(tmp_path, ""), "test config", ("a", "b"), ConfigError) == {}


def test_yaml_errors_may_have_their_own_class(tmp_path):
    class ConfigYamlError(ConfigError, yaml.YAMLError):
        pass

    with pytest.raises(ConfigYamlError):
        read_yaml_mapping(write(tmp_path, "a: [\n"), "test config", ("a",), ConfigError, ConfigYamlError)
    with pytest.raises(ConfigError) as caught:
        read_yaml_mapping(write(tmp_path, "z: 1\n"), "test config", ("a",), ConfigError, ConfigYamlError)
    assert not isinstance(caught.value, ConfigYamlError)


def test_a_missing_file_or_a_folder_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="test config .*absent.yaml not found"):
        read_yaml_mapping(tmp_path / "absent.yaml", "test config", ("a",), ConfigError)
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(ConfigError, match="folder.yaml: is a folder, not the test config"):
        read_yaml_mapping(tmp_path / "folder.yaml", "test config", ("a",), ConfigError)


@dataclass
class Settings:
    size: int = 1
    name: str = "x"


def test_a_mapping_fills_a_dataclass_and_unknown_keys_are_refused_listing_the_fields():
    assert dataclass_from_mapping(Settings, {"size": "3"}, "flags", ConfigError,
                                  convert=lambda value, field: int(value) if field.name == "size" else value) \
        == Settings(size=3)
    assert dataclass_from_mapping(Settings, None, "flags", ConfigError) == Settings()
    with pytest.raises(ConfigError, match=r"^flags: unknown option\(s\) colour; allowed: name, size$"):
        dataclass_from_mapping(Settings, {"colour": "red", "size": 2}, "flags", ConfigError, noun="option")


def read_suite(path):
    load_suite(path)


def read_recipe(path):
    load_recipe(path)


def read_prompts(path):
    PromptSet.load(path)


def read_synonyms(path):
    load_synonym_matcher(path, ["like"], "gesture")


def read_task_options(path):
    TASKS.get("gesture").options(yaml.safe_load(path.read_text()), where=str(path))


@pytest.mark.parametrize("read, error, content", [
    (read_suite, SuiteError, "tasks: [gesture]\nsplits: test\n"),
    (read_recipe, RecipeError, "seed: 0\nsplits: test\nsources: []\n"),
    (read_prompts, PromptFileError, "train: [a]\neval: b\nsplits: test\n"),
    (read_synonyms, AnswerDataError, "labels: {}\nsplits: test\n"),
    (read_task_options, TaskOptionsError, "splits: test\n"),
])
def test_every_configuration_refuses_an_unknown_key_naming_the_file_and_the_key(tmp_path, read, error, content):
    path = write(tmp_path, content)
    with pytest.raises(error) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "splits" in message and "allowed: " in message, message
