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


def test_an_unusable_environment_is_one_line(monkeypatch, capsys):
    from socialfusion_plugin.host.llava.environment.versions import HostEnvironmentError

    monkeypatch.setattr(tasks_cmd, "run", failing(HostEnvironmentError("peft 0.14.0 does not import")))
    assert cli_main.main(["tasks"]) == 2
    assert capsys.readouterr().err == "socialfusion tasks: error: peft 0.14.0 does not import\n"


def test_predictions_that_are_not_utf8_name_the_file_and_line(tmp_path, capsys):
    predictions = tmp_path / "p.jsonl"
    predictions.write_bytes(b'{"id": "a", "text": "like"}\n\xff{"id": "b"}\n')
    references = tmp_path / "r.json"
    references.write_text('[{"id": "a", "conversations": [], "meta": {"task": "gesture", "label": "like"}}]')
    assert cli_main.main(["score", "gesture", "--predictions", str(predictions), "--references", str(references)]) == 2
    assert capsys.readouterr().err.startswith(f"socialfusion score: error: {predictions}:2: not UTF-8 text")


def test_an_unknown_task_name_is_a_user_mistake(capsys):
    from socialfusion_plugin.cli.main import main

    assert main(["score", "no_such_task", "--predictions", "p.jsonl", "--references", "r.json"]) == 2
    assert "no_such_task" in capsys.readouterr().err
