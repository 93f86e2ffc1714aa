"""`socialfusion merge` checks the LoRA checkpoint, its base model and tower and the output folder
before the base model is loaded."""
import os

import pytest
from preflight_helpers import ModelLoadReached, placeholder, run_cli, tensors_file


def merge_argv(layout, **changes):
    values = {"--model-path": layout.lora, "--model-base": layout.llm, "--out": layout.out}
    values.update(changes)
    return ["merge", *[str(item) for pair in values.items() for item in pair]]


CASES = [
    ("checkpoint missing", lambda l: {"--model-path": l.root / "gone"}, ["--model-path", "gone not found"]),
    ("not a LoRA checkpoint", lambda l: {"--model-path": l.full},
     ["--model-path", "merged: is not a LoRA checkpoint of a LLaVA model", "nothing to merge"]),
    ("adapter weights missing", lambda l: (os.remove(l.lora / "adapter_model.safetensors"), {})[1],
     ["has adapter_config.json but no adapter_model.safetensors or adapter_model.bin (the LoRA weights)"]),
    ("connector missing", lambda l: (os.remove(l.lora / "non_lora_trainables.bin"), {})[1],
     ["no non_lora_trainables.bin (the trained connector)"]),
    ("base model missing", lambda l: {"--model-base": l.root / "gone"}, ["--model-base", "gone not found"]),
    ("base tokenizer missing", lambda l: (os.remove(l.llm / "tokenizer.model"), {})[1],
     ["--model-base", "no tokenizer in"]),
    ("tower weights missing", lambda l: (os.remove(l.tower_weights), {})[1],
     ["--model-path", "mm_vision_tower", "vision tower weights", "not found"]),
    ("NaN in the connector", lambda l: (tensors_file(l.lora / "non_lora_trainables.bin", float("nan")), {})[1],
     ["--model-path", "non_lora_trainables.bin: tensor model.mm_projector.2.bias holds 1 NaN or infinite value(s)",
      "use an earlier checkpoint"]),
    ("infinity in the LoRA adapters",
     lambda l: (tensors_file(l.lora / "adapter_model.safetensors", float("inf")), {})[1],
     ["--model-path", "adapter_model.safetensors: tensor model.mm_projector.2.bias holds 1 NaN or infinite"]),
    ("output under a file", lambda l: {"--out": placeholder(l.root / "f") / "merged"},
     ["--out", "cannot be created", "is a file, not a folder"]),
]


@pytest.mark.parametrize("case, change, fragments", CASES, ids=[case[0] for case in CASES])
def test_a_missing_path_fails_before_the_base_model_loads(layout, no_model_loads, capsys, case, change, fragments):
    status, err = run_cli(merge_argv(layout, **change(layout)), capsys)
    assert status == 2, err
    assert err.startswith("socialfusion merge: error: ")
    for fragment in fragments:
        assert fragment in err, err
    assert no_model_loads == []


def test_a_complete_layout_passes_and_reaches_the_loader(layout, no_model_loads, capsys):
    with pytest.raises(ModelLoadReached):
        run_cli(merge_argv(layout), capsys)
    assert no_model_loads == ["socialfusion_plugin.host.llava.loading.checkpoints.load_checkpoint"]
