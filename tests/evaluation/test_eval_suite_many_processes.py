"""`eval-suite` under torchrun: two CPU processes (gloo) share each task batch by batch, and the
merged predictions are byte-identical to a one-process run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialfusion_plugin.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_processes_merge_to_the_bytes_of_one(color_checkpoint, laid_out_data, tmp_path):
    from socialfusion_plugin.host.llava.training.launcher import free_port

    flags = ["--model-path", str(color_checkpoint), "--data-root", str(laid_out_data), "--tasks", "gesture", "gaze",
             "--max-new-tokens", "8", "--batch-size", "2", "--device", "cpu", "--no-progress"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["eval-suite", *flags, "--out", str(one)]) == 0
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
               "-m", "socialfusion_plugin.cli.main", "eval-suite", *flags, "--out", str(two)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    for task in ("gesture", "gaze"):
        merged = (two / "eval" / f"{task}.preds.jsonl").read_bytes()
        assert merged == (one / "eval" / f"{task}.preds.jsonl").read_bytes()
        assert len(merged.splitlines()) > 2  # more than one batch: both processes had a share
    table = json.loads((two / "eval" / "results.json").read_text())
    assert table["processes"] == 2
    assert [r["value"] for r in table["rows"]] == [r["value"] for r in json.loads((one / "eval" / "results.json").read_text())["rows"]]
    assert not list((two / "eval" / "shards").iterdir())
    assert done.stdout.count("wrote ") == 1  # only the first process scores and writes the table
