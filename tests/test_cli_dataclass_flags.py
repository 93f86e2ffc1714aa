"""A settings dataclass's fields with help are command-line flags: name (or metadata["flag"]), type,
list -> one or more values, default or required, choices; parsed values come back by field name."""
import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import pytest

from socialfusion_plugin.cli.flags import add_dataclass_arguments, flag_values


@dataclass
class Example:
    out_dir: Path = field(metadata={"flag": "--out", "help": "where results go"})
    sizes: List[int] = field(default_factory=lambda: [2], metadata={"help": "sizes"})
    limit: Optional[int] = field(default=None, metadata={"help": "at most N"})
    kind: str = field(default="a", metadata={"choices": ("a", "b"), "help": "a or b"})
    internal: int = 0  # no help: not a flag


def parser():
    made = argparse.ArgumentParser(prog="example", exit_on_error=False)
    add_dataclass_arguments(made, Example)
    return made


def test_fields_with_help_become_flags_and_parse_back_into_the_dataclass():
    args = parser().parse_args(["--out", "o", "--sizes", "3", "4", "--limit", "5", "--kind", "b"])
    assert Example(**flag_values(Example, args)) == Example(out_dir=Path("o"), sizes=[3, 4], limit=5, kind="b")
    defaults = parser().parse_args(["--out", "o"])
    assert Example(**flag_values(Example, defaults)) == Example(out_dir=Path("o"))
    assert "--internal" not in parser().format_help()


@pytest.mark.parametrize("argv", [[], ["--out", "o", "--kind", "c"], ["--out", "o", "--sizes", "x"]])
def test_a_missing_required_flag_a_bad_choice_or_type_is_refused(argv, capsys):
    with pytest.raises((SystemExit, argparse.ArgumentError)):
        parser().parse_args(argv)


@dataclass(frozen=True, kw_only=True)
class Base:
    device: Optional[str] = field(default=None, metadata={"help": "where (default: %(default)s)", "if_none": "auto"})
    size: int = field(default=1, metadata={"help": "how many (default: %(default)s)"})


@dataclass(frozen=True, kw_only=True)
class OnCpu(Base):
    device: Optional[str] = "cpu"  # only another default: the flag keeps Base's declaration


def test_a_subclass_that_changes_a_default_keeps_the_base_flag_and_only_picks_flags():
    base, on_cpu = argparse.ArgumentParser(), argparse.ArgumentParser()
    add_dataclass_arguments(base, Base)
    add_dataclass_arguments(on_cpu, OnCpu, only=("device",))
    assert "where (default: auto)" in " ".join(base.format_help().split())
    assert "where (default: cpu)" in " ".join(on_cpu.format_help().split())
    assert "--size" not in on_cpu.format_help()
    assert OnCpu(**flag_values(OnCpu, base.parse_args(["--device", "cuda"]))) == OnCpu(device="cuda")
    assert on_cpu.parse_args([]).device == "cpu"
