"""Flags the commands share: flags made from the fields of a settings dataclass, the repeated
`--option key=value` and `--flag TASK=PATH` values, and `--no-progress`.

A dataclass field with `metadata={"help": ...}` is the flag `--field-name` (or `metadata["flag"]`),
so its name, type, default and help are declared once, on the field: its type (a list takes one or
more values; a bool that defaults to False is a switch), its default (a field without one is a
required flag), and argparse's `choices` and `metavar` where the metadata gives them. Fields without
help are not flags.
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Dict, List, Optional

from .main import CommandError


def add_no_progress(parser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (for log files)")


def add_dataclass_arguments(parser, cls) -> None:
    hints = typing.get_type_hints(cls)
    for field in _flag_fields(cls):
        options = {key: field.metadata[key] for key in ("choices", "metavar") if key in field.metadata}
        value_type = _without_none(hints[field.name])
        if value_type is bool and field.default is False:
            parser.add_argument(_flag(field), action="store_true", help=field.metadata["help"])
            continue
        if typing.get_origin(value_type) in (list, List):
            options["nargs"] = "+"
            value_type = typing.get_args(value_type)[0]
        if field.default is not dataclasses.MISSING:
            options["default"] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            options["default"] = field.default_factory()
        else:
            options["required"] = True
        parser.add_argument(_flag(field), type=value_type, help=field.metadata["help"], **options)


def flag_values(cls, args) -> Dict[str, Any]:
    """{field name: value} of the flags `add_dataclass_arguments` made from `cls`, as parsed into `args`."""
    return {field.name: getattr(args, _flag(field)[2:].replace("-", "_")) for field in _flag_fields(cls)}


def _flag_fields(cls) -> List[dataclasses.Field]:
    return [field for field in dataclasses.fields(cls) if "help" in field.metadata]


def _flag(field: dataclasses.Field) -> str:
    return field.metadata.get("flag", "--" + field.name.replace("_", "-"))


def _without_none(hint):
    """Optional[X] -> X: a flag that is not given keeps the field's default (None)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is typing.Union and type(None) in args:
        return next(arg for arg in args if arg is not type(None))
    return hint


def parse_key_values(pairs: Optional[List[str]], flag: str = "--option") -> Dict[str, str]:
    values: Dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"{flag} expects key=value, got {pair!r}")
        values[key.strip()] = value.strip()
    return values


def parse_task_paths(values: Optional[List[str]], flag: str, allow_repeat: bool = False) -> Dict[str, Path]:
    """{task: path} from repeated `FLAG TASK=PATH`; a task given twice is an error unless
    `allow_repeat` (then the last one wins)."""
    out: Dict[str, Path] = {}
    for value in values or []:
        task, sep, path = value.partition("=")
        if not sep or not task or not path:
            raise CommandError(f"{flag} expects TASK=PATH, got {value!r}")
        if task in out and not allow_repeat:
            raise CommandError(f"{flag} given twice for task {task}")
        out[task] = Path(path)
    return out
