"""`socialfusion eval` checks the checkpoint (by kind), its base model and tower, the data, a sample
of its images and the output file before LLaVA's loader runs."""
import os
import shutil

import pytest
from preflight_helpers import ModelLoadReached, llava_records, placeholder, run_cli, tensors_file, write_json


def eval_argv(layout, **changes):
    values = {"--model-path": layout.lora, "--model-base": layout.llm, "--task": "gesture", "--data": layout.data,
              "--image-folder": layout.images, "--out": layout.out / "gesture.preds.jsonl"}
    values.update(changes)
    argv = ["eval", "--no-progress"]
    for flag, value in values.items():
        if value is True:
            argv.append(flag)
        elif value is not None:
            argv += [flag, str(value)]
    return argv


def truncate(path):
    """A copy or download cut short: the file loses its last bytes."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])


def drop(path):
    (shutil.rmtree if os.path.isdir(path) else os.remove)(path)


CASES = [
    ("checkpoint missing", lambda l: {"--model-path": l.root / "runs" / "nope"}, ["--model-path", "nope not found"]),
    ("not a checkpoint", lambda l: {"--model-path": l.images},
     ["--model-path", "no config.json in", "not a LLaVA checkpoint"]),
    ("LoRA without --model-base", lambda l: {"--model-base": None},
     ["holds LoRA adapters: pass the base language model with --model-base"]),
    ("LoRA without its connector", lambda l: (drop(l.lora / "non_lora_trainables.bin"), {})[1],
     ["--model-path", "has LoRA adapters but no non_lora_trainables.bin"]),
    ("LoRA without adapter weights", lambda l: (drop(l.lora / "adapter_model.safetensors"), {})[1],
     ["has adapter_config.json but no adapter_model.safetensors or adapter_model.bin"]),
    ("base model missing", lambda l: {"--model-base": l.root / "models" / "gone"}, ["--model-base", "gone not found"]),
    ("base model without weights", lambda l: (drop(l.llm / "model.safetensors"), {})[1], ["--model-base", "no weights in"]),
    ("checkpoint's tower weights missing", lambda l: (drop(l.tower_weights), {})[1],
     ["--model-path", "mm_vision_tower open_clip:", "in its config.json: vision tower weights",
      "the tower is rebuilt from this value"]),
    ("merged checkpoint without weights", lambda l: (drop(l.full / "model.safetensors"), {
        "--model-path": l.full, "--model-base": None})[1], ["--model-path", "no weights in", "merged (none of"]),
    ("data missing", lambda l: {"--data": l.root / "nope.json"}, ["--data", "nope.json not found"]),
    ("image folder missing", lambda l: {"--image-folder": l.root / "gone"}, ["--image-folder", "gone not found"]),
    ("an image missing", lambda l: (drop(l.images / "img_000.png"), {})[1],
     ["--image-folder", "1 of 21 sampled images of --data", "img_000.png (record r000)"]),
    ("relative images without --image-folder", lambda l: {"--image-folder": None},
     ["--data", "has a relative image path 'img_000.png'; pass --image-folder"]),
    ("an image path leaving the folder", lambda l: (write_json(l.data, llava_records(2, image=lambda i: f"../x{i}.png")),
                                                    {})[1], ["--data", "escapes the dataset root"]),
    ("output is a folder", lambda l: {"--out": l.images}, ["--out", "images is a folder; give a file path"]),
    ("connector file cut short", lambda l: (truncate(l.lora / "non_lora_trainables.bin"), {})[1],
     ["--model-path", "non_lora_trainables.bin is a cut torch archive"]),
    ("adapter file cut short", lambda l: (truncate(l.lora / "adapter_model.safetensors"), {})[1],
     ["adapter_model.safetensors is truncated"]),
    ("base model weights cut short", lambda l: (truncate(l.llm / "model.safetensors"), {})[1],
     ["--model-base", "model.safetensors is truncated"]),
    ("base config.json not JSON", lambda l: ((l.llm / "config.json").write_text("{"), {})[1],
     ["--model-base", "config.json cannot be read as JSON"]),
]


@pytest.mark.parametrize("case, change, fragments", CASES, ids=[case[0] for case in CASES])
def test_a_missing_path_fails_before_any_model_loads(layout, no_model_loads, capsys, case, change, fragments):
    status, err = run_cli(eval_argv(layout, **change(layout)), capsys)
    assert status == 2, err
    assert err.startswith("socialfusion eval: error: ")
    for fragment in fragments:
        assert fragment in err, err
    assert no_model_loads == []


@pytest.mark.parametrize("kind", ["lora", "merged", "connector-only"])
def test_a_complete_layout_passes_and_reaches_the_loader(layout, no_model_loads, capsys, kind):
    changes = {}
    if kind == "merged":
        changes = {"--model-path": layout.full, "--model-base": None}
    elif kind == "connector-only":
        stage1 = layout.root / "runs" / "stage1"
        write_json(stage1 / "config.json", {"mm_vision_tower": layout.tower})
        placeholder(stage1 / "mm_projector.bin")
        changes = {"--model-path": stage1}
    with pytest.raises(ModelLoadReached):
        run_cli(eval_argv(layout, **changes), capsys)
    assert no_model_loads == ["socialfusion_plugin.host.llava.loading.checkpoints.load_checkpoint"]


def test_only_the_images_eval_will_read_are_checked(layout, no_model_loads, capsys):
    # records of another task, records past --limit and text-only loss samples are not read by eval
    other = llava_records(5, image=lambda i: f"elsewhere/{i}.png", meta={"task": "relation", "label": "friends"},
                          prefix="o")
    write_json(layout.data, llava_records(4) + other + llava_records(3, image=lambda i: f"later/{i}.png", prefix="l"))
    with pytest.raises(ModelLoadReached):
        run_cli(eval_argv(layout, **{"--limit": 4}), capsys)
    status, err = run_cli(eval_argv(layout), capsys)  # without --limit the last three are read: their folder is gone
    assert status == 2 and "1 image folder(s) used by --data" in err and "later (3 image(s), e.g. record l000)" in err
    assert "elsewhere" not in err
    text_only = [{"id": "t", "conversations": [{"from": "human", "value": "1+1?"}, {"from": "gpt", "value": "2"}]}]
    write_json(layout.data, text_only + llava_records(2, image=lambda i: f"gone/{i}.png", prefix="g"))
    with pytest.raises(ModelLoadReached):
        run_cli(eval_argv(layout, **{"--mode": "loss", "--task": None, "--text-only": True,
                                     "--image-folder": layout.root / "absent", "--out": layout.out / "l.json"}), capsys)


# ---- the files the loader reads, and what is in the trained ones ------------------------------

def head_c(path, count):
    """`head -c COUNT`: what an interrupted copy leaves."""
    path.write_bytes(path.read_bytes()[:count])


TWIN_CASES = [
    ("the .safetensors twin cut short while the .bin is whole",
     lambda l: head_c(tensors_file(l.lora / "non_lora_trainables.safetensors"), 500),
     ["--model-path", "non_lora_trainables.safetensors is truncated"]),
    ("NaN in the connector (.bin)", lambda l: tensors_file(l.lora / "non_lora_trainables.bin", float("nan")),
     ["--model-path", "non_lora_trainables.bin: tensor model.mm_projector.2.bias holds 1 NaN or infinite value(s)"]),
    ("NaN in the connector's .safetensors twin",
     lambda l: tensors_file(l.lora / "non_lora_trainables.safetensors", float("nan")),
     ["non_lora_trainables.safetensors: tensor model.mm_projector.2.bias holds 1 NaN"]),
    ("infinity in the LoRA adapters",
     lambda l: tensors_file(l.lora / "adapter_model.safetensors", float("inf")),
     ["adapter_model.safetensors: tensor model.mm_projector.2.bias holds 1 NaN or infinite value(s)"]),
]


@pytest.mark.parametrize("case, damage, fragments", TWIN_CASES, ids=[case[0] for case in TWIN_CASES])
def test_the_read_files_are_checked_and_trained_tensors_must_be_finite(layout, no_model_loads, capsys, case, damage,
                                                                        fragments):
    damage(layout)
    status, err = run_cli(eval_argv(layout), capsys)
    assert status == 2, err
    for fragment in fragments:
        assert fragment in err, err
    assert no_model_loads == []


def test_nan_in_a_connector_only_checkpoint_is_refused(layout, no_model_loads, capsys):
    stage1 = layout.root / "runs" / "stage1"
    write_json(stage1 / "config.json", {"mm_vision_tower": layout.tower})
    tensors_file(stage1 / "mm_projector.bin", float("nan"))
    status, err = run_cli(eval_argv(layout, **{"--model-path": stage1}), capsys)
    assert status == 2 and "mm_projector.bin: tensor model.mm_projector.2.bias holds 1 NaN" in err, err
    assert no_model_loads == []


def test_a_file_the_loader_does_not_read_is_not_held_against_it(layout, no_model_loads, capsys):
    # a whole .safetensors twin is what the loader reads: a cut .bin beside it does not matter
    tensors_file(layout.lora / "non_lora_trainables.safetensors")
    truncate(layout.lora / "non_lora_trainables.bin")
    # transformers reads model.safetensors where both are there
    truncate(placeholder(layout.llm / "pytorch_model.bin"))
    with pytest.raises(ModelLoadReached):
        run_cli(eval_argv(layout), capsys)
    assert no_model_loads == ["socialfusion_plugin.host.llava.loading.checkpoints.load_checkpoint"]


def test_a_plain_language_model_is_refused_for_an_image_task_before_it_loads(layout, no_model_loads, capsys,
                                                                             monkeypatch):
    from socialfusion_plugin.host.llava.inference import general_loss

    def reached(*args, **kwargs):
        no_model_loads.append("general_loss.load_language_model")
        raise ModelLoadReached("load_language_model")

    monkeypatch.setattr(general_loss, "load_language_model", reached)
    status, err = run_cli(eval_argv(layout, **{"--model-path": layout.llm, "--model-base": None}), capsys)
    assert status == 2, err
    assert "--model-path" in err and "is a plain language model (its config.json names no mm_vision_tower)" in err
    assert "use a LLaVA checkpoint" in err and "--mode loss (with --text-only" in err
    assert no_model_loads == []
    # its loss on the data is what it can measure: that passes the checks
    with pytest.raises(ModelLoadReached):
        run_cli(eval_argv(layout, **{"--model-path": layout.llm, "--model-base": None, "--mode": "loss",
                                     "--task": None, "--out": layout.out / "loss.json"}), capsys)
    assert no_model_loads == ["general_loss.load_language_model"]
