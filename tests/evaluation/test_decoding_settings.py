"""The decoding settings are declared once (evaluation.runner.DecodingSettings, on top of
run_settings.RunSettings): `eval` and `eval-suite` take their flags, defaults and help from it, and a
suite hands them to every task."""
import dataclasses
from pathlib import Path

import pytest

from socialfusion_plugin.cli.main import build_parser
from socialfusion_plugin.evaluation.runner import DecodingSettings, EvalSettings, decoding_values
from socialfusion_plugin.evaluation.suite import SuiteSettings

REQUIRED = {"eval": ["--model-path", "m", "--data", "d.json", "--out", "p.jsonl"],
            "eval-suite": ["--model-path", "m"]}


@pytest.mark.parametrize("command", sorted(REQUIRED))
def test_both_commands_take_every_decoding_flag_with_the_settings_defaults(command):
    parser = build_parser()
    defaults = parser.parse_args([command] + REQUIRED[command])
    assert decoding_values(defaults) == decoding_values(DecodingSettings())
    given = parser.parse_args([command] + REQUIRED[command] + [
        "--batch-size", "3", "--max-new-tokens", "7", "--temperature", "0.5", "--seed", "11", "--conv-mode", "plain",
        "--multi-label-threshold", "0.25", "--device", "cuda:1", "--dtype", "bfloat16"])
    assert decoding_values(given) == dict(batch_size=3, max_new_tokens=7, temperature=0.5, seed=11, conv_mode="plain",
                                          multi_label_threshold=0.25, device="cuda:1", dtype="bfloat16")


def test_every_decoding_flag_has_help():
    assert all(field.metadata.get("help") for field in dataclasses.fields(DecodingSettings))


def test_a_suite_hands_its_decoding_settings_to_every_task():
    decoding = dict(batch_size=3, max_new_tokens=7, temperature=0.5, seed=11, conv_mode="plain",
                    multi_label_threshold=0.25)
    suite = SuiteSettings(model_path=Path("m"), model_base=None, run_dir=Path("r"), device="cpu", **decoding)
    assert suite.eval_settings("rank") == EvalSettings(mode="rank", device="cpu", **decoding)


@pytest.mark.parametrize("bad", [dict(batch_size=0), dict(max_new_tokens=0), dict(temperature=-1.0),
                                 dict(dtype="float64")])
def test_suite_settings_check_the_decoding_fields_as_eval_does(bad):
    with pytest.raises(ValueError):
        SuiteSettings(model_path=Path("m"), model_base=None, run_dir=Path("r"), device="cpu", **bad)
