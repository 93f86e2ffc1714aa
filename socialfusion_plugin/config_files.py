"""Reading a configuration strictly: a YAML file that must be a mapping of known keys, and a
mapping that must fill a dataclass's fields and nothing else.

Data recipes, eval suites, task prompts, answer synonyms and task options are all read here, so each
refuses the same things in the same words, raised as the caller's own error class:
- a folder where the file should be (a missing file is a FileNotFoundError, as for every input file);
- bytes that are not UTF-8, with the line of the first bad byte;
- text YAML refuses (a syntax error, a tag such as `!!python/object`, nesting deeper than Python's
  recursion limit, an integer too long to convert): `<file>:<line>: not a valid <what>: <problem>`;
- a top level that is not a mapping (an empty file is an empty mapping);
- a key that is not allowed: `<where>: unknown key(s) <keys>; allowed: <keys>`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Collection, Dict, Mapping, Optional, Type

import yaml

from .json_records import check_input_file, not_utf8_message


class StrictYamlLoader(yaml.SafeLoader):
    """yaml.SafeLoader whose integer errors carry the line: int() refuses more than 4300 digits
    with a ValueError that knows nothing of the file."""

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {len(node.value)} digits is too long", node.start_mark) from None


StrictYamlLoader.add_constructor("tag:yaml.org,2002:int", StrictYamlLoader.construct_yaml_int)


def read_yaml_mapping(path, what: str, keys: Collection[str], error: Type[Exception],
                      yaml_error: Optional[Type[Exception]] = None) -> Dict[Any, Any]:
    """The mapping in the YAML file `path` (a `what`, e.g. "suite file"), whose top-level keys are
    among `keys`; anything else raises `error` (`yaml_error` for what YAML refuses) naming the file."""
    path = check_input_file(Path(path), what, error)
    return parse_yaml_mapping(path.read_bytes(), path, what, keys, error, yaml_error)


def parse_yaml_mapping(raw: bytes, path: Path, what: str, keys: Collection[str], error: Type[Exception],
                       yaml_error: Optional[Type[Exception]] = None) -> Dict[Any, Any]:
    """`read_yaml_mapping` for bytes already read from `path` (a caller that also hashes them)."""
    try:
        loader = StrictYamlLoader(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise error(not_utf8_message(path)) from None
    yaml_error = yaml_error or error
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise yaml_error(f"{path}{line}: not a valid {what}: {problem}") from None
    except RecursionError:
        raise yaml_error(f"{path}:{loader.get_mark().line + 1}: not a valid {what}: nested too deeply") from None
    finally:
        loader.dispose()
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping with the keys {', '.join(keys)}")
    reject_unknown_keys(data, keys, str(path), error)
    return data


def reject_unknown_keys(mapping: Mapping[Any, Any], keys: Collection[str], where: str, error: Type[Exception],
                        noun: str = "key") -> None:
    """`error` naming `where`, every key of `mapping` not among `keys`, and the allowed ones."""
    unknown = sorted(str(key) for key in mapping if key not in keys)
    if unknown:
        raise error(f"{where}: unknown {noun}(s) {', '.join(unknown)}; allowed: {', '.join(keys) or 'none'}")


def dataclass_from_mapping(cls, values: Optional[Mapping[str, Any]], where: str, error: Type[Exception],
                           noun: str = "key", convert: Optional[Callable[[Any, dataclasses.Field], Any]] = None):
    """An instance of the dataclass `cls` from `values`, whose keys must be its fields;
    `convert(value, field)` turns each given value into the field's (e.g. a command-line string)."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    reject_unknown_keys(values, sorted(fields), where, error, noun)
    if convert is not None:
        values = {name: convert(value, fields[name]) for name, value in values.items()}
    return cls(**values)
