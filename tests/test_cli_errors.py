"""The CLI prints a user's mistake as one line (exit 2) and lets a bug show its traceback."""
import json

import pytest

from socialfusion_plugin.cli import main as cli_main
from socialfusion_plugin.cli import tasks_cmd
from socialfusion_plugin.errors import UserInputError


def failing(error):
    def run(args):
        raise error
    return run


@pytest.mark.parametrize("error", [
    UserInputError("data.json: record 3 has no image"),
    cli_main.CommandError("--task is required"),
    FileNotFoundError("data.json not found"),
    IsADirectoryError("data.json is a folder"),
    json.JSONDecodeError("Expecting value", "{", 0),
])
def test_user_mistakes_are_one_line(monkeypatch, capsys, error):
    monkeypatch.setattr(tasks_cmd, "run", failing(error))
    assert cli_main.main(["tasks"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("socialfusion tasks: error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize("error", [KeyError("meta"), ValueError("could not convert string to float: 'x'"),
                                   TypeError("unsupported operand"), AttributeError("'NoneType' has no 'id'")])
def test_a_bug_keeps_its_traceback(monkeypatch, error):
    monkeypatch.setattr(tasks_cmd, "run", failing(error))
    with pytest.raises(type(error)):
        cli_main.main(["tasks"])


def test_an_unknown_task_name_is_a_user_mistake(capsys):
    from socialfusion_plugin.cli.main import main

    assert main(["score", "no_such_task", "--predictions", "p.jsonl", "--references", "r.json"]) == 2
    assert "no_such_task" in capsys.readouterr().err
