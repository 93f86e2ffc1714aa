"""`socialfusion conflict` checks every checkpoint (its kind's files, base model, tower), every task's
records and images and the output folder before the first model is rebuilt."""
import os

import pytest
from preflight_helpers import ModelLoadReached, placeholder, run_cli, write_json


def conflict_argv(layout, model_paths=None, extra=()):
    return ["conflict", "--model-path", *(model_paths or [layout.lora]), "--tasks", "gesture", "relation",
            "--data-root", layout.conflict_root, "--out", layout.out, "--no-progress", *extra]


CASES = [
    ("second checkpoint missing", lambda l: {"paths": [l.lora, l.root / "runs" / "sf" / "checkpoint-9"]},
     ["--model-path", "checkpoint-9 not found"]),
    ("connector of a LoRA checkpoint missing", lambda l: (os.remove(l.lora / "non_lora_trainables.bin"), {})[1],
     ["--model-path", "has LoRA adapters but no non_lora_trainables.bin"]),
    ("base named by adapter_config.json missing", lambda l: (write_json(
        l.lora / "adapter_config.json", {"base_model_name_or_path": str(l.root / "moved"), "r": 8}), {})[1],
     ["--model-path", "the base model named in adapter_config.json:", "moved not found; pass the base language "
      "model folder with --model-base"]),
    ("--model-base missing", lambda l: {"extra": ["--model-base", str(l.root / "gone")]},
     ["--model-base", "gone not found"]),
    ("plain language model without a tower", lambda l: {"paths": [l.llm]},
     ["is a plain language model (no mm_vision_tower): pass --vision-tower"]),
    ("--vision-tower weights missing", lambda l: (os.remove(l.tower_weights), {"paths": [l.llm],
                                                                                 "extra": ["--vision-tower", l.tower]})[1],
     ["--vision-tower open_clip:", "vision tower weights"]),
    ("--vision-tower differs from the checkpoint's", lambda l: {"extra": ["--vision-tower", "open_clip:ViT-B-32@/x.pt"]},
     ["its mm_vision_tower open_clip:", "differs from --vision-tower open_clip:ViT-B-32@/x.pt"]),
    ("full checkpoint without weights", lambda l: (os.remove(l.full / "model.safetensors"), {"paths": [l.full]})[1],
     ["--model-path", "no weights in", "merged (none of"]),
    ("task data missing", lambda l: (os.remove(l.conflict_root / "converted" / "relation_train.json"), {})[1],
     ["--data-root (relation train)", "relation_train.json not found"]),
    ("task data override missing", lambda l: {"extra": ["--data", f"gesture={l.root / 'nope.json'}"]},
     ["--data gesture: ", "nope.json not found"]),
    ("task images missing", lambda l: (os.remove(l.conflict_root / "gesture" / "img_001.png"), {})[1],
     ["--data-root (gesture image folder)", "1 of 21 sampled images", "img_001.png (record r001)"]),
    ("no data for a task", lambda l: {"root": None},
     ["--tasks gesture: task gesture: no --data-root and no --data gesture=FILE"]),
    ("output is a file", lambda l: {"extra": ["--out", str(placeholder(l.root / "f"))]},
     ["--out", "is a file; give a folder"]),
]


@pytest.mark.parametrize("case, change, fragments", CASES, ids=[case[0] for case in CASES])
def test_a_missing_path_fails_before_any_model_is_built(layout, no_model_loads, capsys, case, change, fragments):
    changes = change(layout)
    argv = conflict_argv(layout, changes.get("paths"), [str(item) for item in changes.get("extra", ())])
    if "root" in changes:
        index = argv.index("--data-root")
        del argv[index:index + 2]
    status, err = run_cli(argv, capsys)
    assert status == 2, err
    assert err.startswith("socialfusion conflict: error: ")
    for fragment in fragments:
        assert fragment in err, err
    assert no_model_loads == []


def test_a_complete_layout_passes_and_reaches_the_diagnostic(layout, no_model_loads, capsys):
    checkpoints = [layout.lora, layout.full, layout.llm]
    with pytest.raises(ModelLoadReached):
        run_cli(conflict_argv(layout, checkpoints, ["--vision-tower", layout.tower]), capsys)
    assert no_model_loads == ["socialfusion_plugin.analysis.conflict.run.run_conflict"]


def test_nan_in_a_trained_connector_is_refused_before_any_model_is_built(layout, no_model_loads, capsys):
    import torch

    torch.save({"model.mm_projector.0.weight": torch.tensor([1.0, float("nan")])}, layout.lora / "non_lora_trainables.bin")
    status, err = run_cli(conflict_argv(layout), capsys)
    assert status == 2, err
    assert "non_lora_trainables.bin: tensor model.mm_projector.0.weight holds 1 NaN or infinite value(s) of 2" in err
    assert no_model_loads == []
