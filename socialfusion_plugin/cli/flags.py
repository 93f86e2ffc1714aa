"""Flags the commands share: flags made from the fields of a settings dataclass, flags that mean
the same in every command that has them (`SHARED_FLAGS`), and the repeated `--option key=value` and
`--flag TASK=PATH` values.

A dataclass field with `metadata={"help": ...}` is the flag `--field-name` (or `metadata["flag"]`),
so its name, type, default and help are declared once, on the field: its type (a list takes one or
more values; a bool that defaults to False is a switch), its default (a field without one is a
required flag), and argparse's `choices` and `metavar` where the metadata gives them. Fields without
help are not flags, unless a base class declared the field as a flag and the subclass names it
again only to change its default (run_settings.py). A help's `%(default)s` reads
`metadata["if_none"]` where the default is None.
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .main import CommandError


# a flag declared here reads the same in every command; a command may add what its own flag points at
SHARED_FLAGS = {
    "--no-progress": dict(action="store_true", help="no progress bars (for log files)"),
    "--json": dict(action="store_true", help="print machine-readable JSON"),
    "--option": dict(action="append", metavar="KEY=VALUE", help="task option (repeatable)"),
    "--data-root": dict(type=Path, help="root of the data layout (DATA_ROOT/converted/<task>_<split>.json as convert "
                                        "writes them, a task's release in DATA_ROOT/<task>/)"),
    "--image-folder": dict(type=Path, help="folder the records' relative image paths start from (the convert --root, "
                                           "LLaVA's --image_folder)"),
    "--version": dict(default="v1",
                      help="LLaVA conversation template, as --version in training (default: %(default)s)"),
    "--cache-dir": dict(type=Path, help="cache reused across runs (default: a folder under $SOCIALFUSION_CACHE, "
                                        "else ~/.cache/socialfusion)"),
}
# per-task paths that take the place of the data layout's file or folder for one task
TASK_PATH_FLAGS = {
    "--train": ("FILE", "converted train file of a task"),
    "--test": ("FILE", "converted test file of a task"),
    "--data": ("FILE", "LLaVA records of a task"),
    "--image-folder": ("DIR", "image folder of a task"),
}


def add_shared_flag(parser, flag: str, detail: str = "", **changes) -> None:
    """`flag` as SHARED_FLAGS declares it; `detail` says what it points at in this command."""
    options = {**SHARED_FLAGS[flag], **changes}
    if detail:
        options["help"] = f"{options['help']}: {detail}"
    parser.add_argument(flag, **options)


def add_task_path_flags(parser, *flags: str) -> None:
    for flag in flags:
        kind, what = TASK_PATH_FLAGS[flag]
        parser.add_argument(flag, action="append", metavar=f"TASK={kind}", help=f"{what} (overrides --data-root)")


def add_dataclass_arguments(parser, cls, only: Optional[Sequence[str]] = None) -> None:
    """The flags of `cls`'s fields (of the fields named in `only`, when given)."""
    hints = typing.get_type_hints(cls)
    for field, metadata in _flag_fields(cls):
        if only is not None and field.name not in only:
            continue
        options = {key: metadata[key] for key in ("choices", "metavar") if key in metadata}
        value_type = _without_none(hints[field.name])
        if value_type is bool and field.default is False:
            parser.add_argument(_flag(field, metadata), action="store_true", help=metadata["help"])
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
        help_text = metadata["help"]
        if options.get("default") is None and "if_none" in metadata:
            help_text = help_text.replace("%(default)s", metadata["if_none"])
        parser.add_argument(_flag(field, metadata), type=value_type, help=help_text, **options)


def flag_values(cls, args) -> Dict[str, Any]:
    """{field name: value} of the flags `add_dataclass_arguments` made from `cls`, as parsed into `args`."""
    return {field.name: getattr(args, _flag(field, metadata)[2:].replace("-", "_"))
            for field, metadata in _flag_fields(cls)}


def _flag_fields(cls) -> List[Tuple[dataclasses.Field, Mapping[str, Any]]]:
    """(field, the metadata it was declared with as a flag) for the fields of `cls` that are flags."""
    flags = []
    for field in dataclasses.fields(cls):
        declared = (klass.__dataclass_fields__.get(field.name) for klass in cls.__mro__
                    if dataclasses.is_dataclass(klass))
        metadata = next((f.metadata for f in declared if f is not None and "help" in f.metadata), None)
        if metadata is not None:
            flags.append((field, metadata))
    return flags


def _flag(field: dataclasses.Field, metadata: Mapping[str, Any]) -> str:
    return metadata.get("flag", "--" + field.name.replace("_", "-"))


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
