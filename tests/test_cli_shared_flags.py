"""Every flag that means the same in several commands is declared once: the fields of RunSettings
(device, dtype, batch size, seed) in eval, eval-suite, probe, conflict and merge, and the flags of
cli/flags.SHARED_FLAGS wherever a command takes them; a command changes only a default or adds
what its own flag points at."""
import argparse

import pytest

from socialfusion_plugin.cli.flags import SHARED_FLAGS
from socialfusion_plugin.cli.main import build_parser

RUN_FLAGS = ("--device", "--dtype", "--batch-size", "--seed")
# command -> its defaults for RUN_FLAGS (None: eval picks the device and dtype of each process)
DEFAULTS = {"eval": (None, None, 8, 0), "eval-suite": (None, None, 8, 0), "probe": ("cpu", "float32", 32, 0),
            "conflict": ("cpu", "float32", 4, 0), "merge": ("cpu", None)}


def commands():
    parser = build_parser()
    subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return subparsers.choices


def options(command_parser):
    return {flag: action for action in command_parser._actions for flag in action.option_strings}


@pytest.mark.parametrize("flag", RUN_FLAGS)
def test_run_flags_read_the_same_in_every_command_apart_from_the_default(flag):
    declared = {name: options(commands()[name]).get(flag) for name in DEFAULTS}
    declared = {name: action for name, action in declared.items() if action is not None}
    assert set(declared) == {name for name, defaults in DEFAULTS.items() if RUN_FLAGS.index(flag) < len(defaults)}
    for name, action in declared.items():
        assert action.default == DEFAULTS[name][RUN_FLAGS.index(flag)], name
    shapes = {(action.help.split(" (default")[0], action.type, action.choices) for action in declared.values()}
    assert len(shapes) == 1, shapes


def test_a_default_of_none_is_explained_in_the_help():
    device = options(commands()["eval-suite"])["--device"]
    assert "cuda when available" in device.help and "%(default)s" not in device.help
    assert "(default: %(default)s)" in options(commands()["probe"])["--device"].help


@pytest.mark.parametrize("flag", sorted(SHARED_FLAGS))
def test_a_shared_flag_has_one_declaration_wherever_a_command_takes_it(flag):
    taken = {name: options(parser)[flag] for name, parser in commands().items() if flag in options(parser)}
    # per-task paths (`--image-folder TASK=DIR`) are another flag of the same name: TASK_PATH_FLAGS
    taken = {name: action for name, action in taken.items() if not str(action.metavar).startswith("TASK=")}
    assert len(taken) >= 2, f"{flag} is shared by fewer than two commands: {sorted(taken)}"
    for name, action in taken.items():
        assert action.help.startswith(SHARED_FLAGS[flag]["help"]), (name, action.help)
