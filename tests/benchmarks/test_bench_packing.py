"""bench_packing.py keeps working: its padding figures for the layouts packing uses, and one timed
step of each mode on a one-layer tiny model (the figures themselves are not asserted: timings
belong in the benchmark's output, not in tests)."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_packing.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_packing", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_padding_figures_for_rows_end_to_end_and_rows_padded_to_the_longest(bench):
    figures = bench.padding_figures([[4, 7, 3, 2]], max_length=9)
    assert figures["padding_unpacked"] == round(1 - 16 / 28, 4)
    assert figures["padding_packed"] == 0.0  # laid end to end
    assert figures["padding_packed_rows"] == round(1 - 16 / 18, 4)  # 2 rows of 9
    assert figures["samples_per_row"] == 2.0
    flash = bench.padding_figures([[4, 7, 3, 2]], max_length=9, flash=True)
    assert flash["padding_packed"] == round(1 - 16 / 17, 4)  # FlashAttention keeps one padding position


def test_padding_only_run_prints_every_case(bench, capsys):
    assert bench.main(["--no-timing", "--padding-batches", "30"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(c["visual_tokens"], c["general_scale"]) for c in report["cases"]] == \
        [(576, 1.0), (576, 3.0), (144, 1.0), (144, 3.0)]
    for case in report["cases"]:
        assert case["padding_unpacked"] > case["padding_packed_rows"] > case["padding_packed"] == 0.0


@pytest.mark.parametrize("block_mask", [False, True])
def test_a_packed_step_computes_fewer_positions_than_the_padded_batch(bench, block_mask):
    import torch

    args = bench.argparse.Namespace(model="tiny", layers=1, model_max_length=512, attn_implementation="sdpa",
                                    dtype="float32", device="cpu", gradient_checkpointing=False, lora_r=4)
    bench.install_packing_attention()
    model = bench.build_model(args)
    samples = [(300, 20), (40, 10), (60, 5), (100, 30)]  # (prompt, answer) tokens
    batch = bench.make_batch(samples, bench.MODELS["tiny"]["hidden_size"], torch.float32, "cpu", seed=0)
    unpacked = bench.train_step(model, batch, packed=False, max_length=512)
    packed = bench.train_step(model, batch, packed=True, max_length=512, block_mask=block_mask)
    assert unpacked == 4 * 320
    useful = sum(p + a for p, a in samples)
    assert packed == (320 * 2 if block_mask else useful)  # rows [320] [130+90+55] padded to 320; or end to end
