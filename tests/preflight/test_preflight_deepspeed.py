"""`train --deepspeed` where DeepSpeed cannot run (a CPU-only machine under LLaVA's pins: accelerate
0.21 always initialises NCCL) stops before any model loads, with the doctor's own sentence, instead of
an NCCL traceback after the model has loaded."""
import subprocess
import sys

import pytest
from preflight_helpers import run_cli
from test_preflight_train import train_argv

from socialfusion_plugin.doctor import accelerator_check
from socialfusion_plugin.doctor.accelerator_check import deepspeed_cannot_run
from socialfusion_plugin.host.llava.environment import versions
from socialfusion_plugin.host.llava.llava_host import LLAVA
from socialfusion_plugin.resources import deepspeed_config

REASON = "accelerate 0.21.0 always initialises DeepSpeed with NCCL, which needs a GPU"


def test_deepspeed_that_cannot_run_stops_before_the_model_loads(layout, no_model_loads, capsys, monkeypatch):
    monkeypatch.setattr(versions, "deepspeed_cpu_blocker", lambda: REASON)
    status, err = run_cli(["train", *train_argv(layout, **{"--deepspeed": deepspeed_config("zero2")})], capsys)
    assert status == 2
    assert err == f"socialfusion train: error: {deepspeed_cannot_run(REASON)}\n"
    assert no_model_loads == []


def test_the_message_is_the_doctors(monkeypatch):
    monkeypatch.setattr(versions, "deepspeed_cpu_blocker", lambda: REASON)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    findings = accelerator_check.check_accelerator(LLAVA, lookup=lambda name: "0.12.6")
    assert [f.message for f in findings if f.check == "deepspeed on CPU"] == [deepspeed_cannot_run(REASON)]


def test_where_deepspeed_runs_nothing_is_refused(layout, no_model_loads, capsys, monkeypatch):
    monkeypatch.setattr(versions, "deepspeed_cpu_blocker", lambda: None)
    from socialfusion_plugin.preflight import check_train_arguments

    check_train_arguments(train_argv(layout, **{"--deepspeed": deepspeed_config("zero2")}), LLAVA)


def test_on_this_machine_if_deepspeed_cannot_run_here(layout, tmp_path):
    """The real blocker of this lane (the LLaVA lane on a CPU machine), in a process, as a user runs it."""
    reason = versions.deepspeed_cpu_blocker()
    if reason is None:
        pytest.skip("DeepSpeed can run on this machine: there is nothing to refuse")
    result = subprocess.run([sys.executable, "-m", "socialfusion_plugin.cli.main", "train",
                             *train_argv(layout, **{"--deepspeed": deepspeed_config("zero2")})],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"socialfusion train: error: {deepspeed_cannot_run(reason)}"
    assert "Traceback" not in result.stderr and "NCCL" not in result.stdout
    assert not layout.out.exists()
