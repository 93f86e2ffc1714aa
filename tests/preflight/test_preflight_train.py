"""`socialfusion train` and `python -m socialfusion_plugin.train` check every path before LLaVA's
train() (or the hooks) load anything: one missing path per case, all problems in one report."""
import os
import subprocess
import sys

import pytest
from preflight_helpers import ModelLoadReached, llava_records, placeholder, run_cli, write_json

from socialfusion_plugin.host.llava.llava_host import LLAVA
from socialfusion_plugin.preflight import PreflightError, check_train_arguments


def train_argv(layout, **changes):
    values = {"--model_name_or_path": layout.llm, "--version": "v1", "--data_path": layout.data,
              "--image_folder": layout.images, "--vision_tower": layout.tower, "--lora_enable": "True",
              "--output_dir": layout.out}
    values.update(changes)
    argv = []
    for flag, value in values.items():
        if value is not None:
            argv += [flag, str(value)]
    return argv


def drop(path):
    os.remove(path)
    return path


def projector(path, bias):
    """A stage-1 mm_projector.safetensors whose second layer's bias is `bias`."""
    import torch
    from safetensors.torch import save_file

    save_file({"model.mm_projector.0.weight": torch.zeros(4, 4), "model.mm_projector.2.bias": torch.tensor(bias)},
              str(path))
    return path


def resume_checkpoint(layout, step, connector_bias, adapter_bias=0.0):
    """A checkpoint-<step> in --output_dir, as a LoRA run saves it: adapters and the connector."""
    import torch
    from safetensors.torch import save_file

    folder = layout.out / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    write_json(folder / "adapter_config.json", {"r": 8, "lora_alpha": 16, "peft_type": "LORA"})
    save_file({"base_model.model.layers.0.q_proj.lora_A.weight": torch.full((2, 4), adapter_bias)},
              str(folder / "adapter_model.safetensors"))
    projector(folder / "non_lora_trainables.safetensors", connector_bias)
    (folder / "non_lora_trainables.bin").write_bytes(b"")  # the name stock LLaVA asks for; the twin is read
    return folder


# (case, change the layout and return argv changes, fragments the error must contain)
CASES = [
    ("model folder missing", lambda l: {"--model_name_or_path": l.root / "models" / "nope"},
     ["--model_name_or_path", "nope not found"]),
    ("model weights missing", lambda l: (drop(l.llm / "model.safetensors"), {})[1],
     ["--model_name_or_path", "no weights in", "was the download or the save interrupted?"]),
    ("a weight shard missing", lambda l: (drop(l.llm / "model.safetensors"), write_json(
        l.llm / "model.safetensors.index.json", {"weight_map": {"a": "model-00001-of-00002.safetensors",
                                                               "b": "model-00002-of-00002.safetensors"}}),
        placeholder(l.llm / "model-00001-of-00002.safetensors"), {})[-1],
     ["1 of 2 weight shards listed in", "model.safetensors.index.json are missing: model-00002-of-00002.safetensors"]),
    ("tokenizer missing", lambda l: (drop(l.llm / "tokenizer.model"), {})[1], ["--model_name_or_path", "no tokenizer"]),
    ("config.json missing", lambda l: (drop(l.llm / "config.json"), {})[1], ["no config.json in"]),
    ("tower weights missing", lambda l: (drop(l.tower_weights), {})[1],
     ["--vision_tower open_clip:", "vision tower weights", "not found", "point --vision_tower at the file"]),
    ("tower architecture missing", lambda l: (drop(l.tower_arch), {})[1], ["--vision_tower", "architecture file"]),
    ("tower tag not downloaded", lambda l: {"--vision_tower": "open_clip:ViT-B-32@openai"},
     ["--vision_tower open_clip:ViT-B-32@openai: weights for open_clip:ViT-B-32@openai are not on this machine"]),
    ("data file missing", lambda l: {"--data_path": l.root / "nope.json"}, ["--data_path", "nope.json not found"]),
    ("data file not a list", lambda l: (l.data.write_text('{"id": 1}'), {})[1], ["--data_path", "JSON list"]),
    ("image folder missing", lambda l: {"--image_folder": l.root / "no-images"},
     ["--image_folder: ", "no-images not found"]),
    ("image folder one level too high", lambda l: {"--image_folder": l.images.parent},
     ["--image_folder", "21 of 21 sampled images", "not found"]),
    ("one image missing", lambda l: (drop(l.images / "img_000.png"), {})[1],
     ["--image_folder", "1 of 21 sampled images of --data_path", "img_000.png (record r000)"]),
    ("a subset folder missing", lambda l: (write_json(l.data, llava_records(3) + llava_records(
        2, image=lambda i: f"ocr_vqa/images/{i}.jpg")), {})[1],
     ["1 image folder(s) used by --data_path", "ocr_vqa/images (2 image(s), e.g. record r000)"]),
    ("relative images without --image_folder", lambda l: {"--image_folder": None},
     ["--data_path", "relative image path 'img_000.png' and no --image_folder is given"]),
    ("no data", lambda l: {"--data_path": None}, ["give --data_path FILE.json (with --image_folder) or --data_recipe"]),
    ("data path and recipe", lambda l: {"--data_recipe": l.recipe}, ["give either --data_path or --data_recipe"]),
    ("recipe missing", lambda l: {"--data_path": None, "--data_recipe": l.root / "nope.yaml"},
     ["--data_recipe", "nope.yaml not found"]),
    ("recipe source image folder missing", lambda l: (l.recipe.write_text(
        f"seed: 0\nsources:\n  - json: {l.data}\n    image_folder: {l.root / 'gone'}\n"), {"--data_path": None,
                                                                                   "--data_recipe": l.recipe})[1],
     ["--data_recipe", "image_folder", "does not exist"]),
    ("recipe source image missing", lambda l: (drop(l.images / "img_000.png"),
                                               {"--data_path": None, "--data_recipe": l.recipe})[1],
     ["--data_recipe", "source data: image_folder", "1 of 21 sampled images of its json", "img_000.png"]),
    ("output folder under a file", lambda l: {"--output_dir": placeholder(l.root / "a-file") / "run"},
     ["--output_dir", "cannot be created:", "a-file is a file, not a folder"]),
    ("deepspeed config missing", lambda l: {"--deepspeed": l.root / "zero9.json"}, ["--deepspeed", "zero9.json not found"]),
    ("bad attention implementation", lambda l: {"--attn_implementation": "magic"},
     ["--attn_implementation must be one of eager, sdpa, flash_attention_2, got 'magic'"]),
    ("seed not an integer", lambda l: {"--seed": "many"}, ["--seed must be an integer, got 'many'"]),
    ("projector file missing", lambda l: {"--pretrain_mm_mlp_adapter": l.root / "mm_projector.bin"},
     ["--pretrain_mm_mlp_adapter", "mm_projector.bin not found"]),
    ("projector holds NaN", lambda l: {"--pretrain_mm_mlp_adapter": projector(
        l.root / "mm_projector.safetensors", [0.0, float("nan"), 0.0, 0.0])},
     ["--pretrain_mm_mlp_adapter: ", "mm_projector.safetensors: tensor model.mm_projector.2.bias holds 1 NaN or "
      "infinite value(s) of 4"]),
    ("projector cut short", lambda l: {"--pretrain_mm_mlp_adapter": l.root / "cut.safetensors"} if (
        l.root / "cut.safetensors").write_bytes(projector(l.root / "whole.safetensors", [0.0] * 4).read_bytes()[:60])
     else None, ["--pretrain_mm_mlp_adapter: ", "cut.safetensors is truncated"]),
    ("last checkpoint's connector holds NaN", lambda l: (resume_checkpoint(l, 10, [0.0] * 4), resume_checkpoint(
        l, 20, [float("nan")] * 4), {})[-1],
     ["--output_dir: ", "checkpoint-20/non_lora_trainables.safetensors: tensor model.mm_projector.2.bias holds 4 NaN"]),
    ("last checkpoint's adapters hold infinity", lambda l: (resume_checkpoint(l, 5, [0.0] * 4, float("inf")), {})[-1],
     ["--output_dir: ", "checkpoint-5/adapter_model.safetensors: tensor", "holds 8 NaN or infinite value(s) of 8"]),
]


@pytest.mark.parametrize("case, change, fragments", CASES, ids=[case[0] for case in CASES])
def test_a_missing_path_fails_before_any_model_loads(layout, no_model_loads, capsys, case, change, fragments):
    status, err = run_cli(["train", *train_argv(layout, **change(layout))], capsys)
    assert status == 2, err
    assert err.startswith("socialfusion train: error: ")
    for fragment in fragments:
        assert fragment in err, err
    assert no_model_loads == []


def test_all_problems_are_reported_together_one_line_each(layout, no_model_loads, capsys):
    os.remove(layout.tower_weights)
    status, err = run_cli(["train", *train_argv(layout, **{"--model_name_or_path": layout.root / "nope",
                                                            "--data_path": layout.root / "nope.json",
                                                            "--output_dir": placeholder(layout.root / "f") / "x"})],
                          capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[0] == "socialfusion train: error: 4 problems found before loading any model:"
    flags = [line.split()[0].rstrip(":") for line in lines[1:]]
    assert flags == ["--model_name_or_path", "--vision_tower", "--data_path", "--output_dir"]
    assert no_model_loads == []


def test_a_complete_layout_passes_and_reaches_the_launcher(layout, no_model_loads, capsys):
    check_train_arguments(train_argv(layout), LLAVA)
    with pytest.raises(ModelLoadReached):
        run_cli(["train", *train_argv(layout)], capsys)
    assert no_model_loads == ["socialfusion_plugin.host.llava.training.launcher.main"]


def test_text_only_data_needs_no_image_folder_and_a_recipe_needs_no_data_path(layout):
    check_train_arguments(train_argv(layout, **{"--data_path": None, "--image_folder": None,
                                                "--data_recipe": layout.recipe}), LLAVA)
    write_json(layout.data, [{"id": "t", "conversations": [{"from": "human", "value": "1+1?"},
                                                          {"from": "gpt", "value": "2"}]}])
    check_train_arguments(train_argv(layout, **{"--image_folder": layout.root / "absent"}), LLAVA)


def test_hub_ids_pass_unless_offline_and_not_cached(layout, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    check_train_arguments(train_argv(layout, **{"--model_name_or_path": "lmsys/vicuna-7b-v1.5"}), LLAVA)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PreflightError, match="lmsys/vicuna-7b-v1.5 is not a local folder and not in the Hugging Face "
                                             "cache, and HF_HUB_OFFLINE is set"):
        check_train_arguments(train_argv(layout, **{"--model_name_or_path": "lmsys/vicuna-7b-v1.5"}), LLAVA)


def test_help_is_left_to_llava(layout):
    check_train_arguments(["--model_name_or_path", str(layout.root / "nope"), "--help"], LLAVA)


def test_python_module_entry_checks_first(layout, no_model_loads, capsys):
    import socialfusion_plugin.train as train_entry

    assert train_entry.run(train_argv(layout, **{"--data_path": layout.root / "nope.json"})) == 2
    err = capsys.readouterr().err
    assert err.startswith("socialfusion train: error: --data_path: ") and "nope.json not found" in err
    assert no_model_loads == []
    with pytest.raises(ModelLoadReached):
        train_entry.run(train_argv(layout))


def test_python_module_entry_as_a_process(layout, tmp_path):
    os.remove(layout.tower_weights)
    result = subprocess.run([sys.executable, "-m", "socialfusion_plugin.train", *train_argv(layout)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "socialfusion train: error: --vision_tower open_clip:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not layout.out.exists()  # nothing was started


def test_a_complete_finite_projector_passes(layout):
    adapter = projector(layout.root / "mm_projector.safetensors", [0.0, 1.0, -1.0, 0.5])
    check_train_arguments(train_argv(layout, **{"--pretrain_mm_mlp_adapter": adapter}), LLAVA)


def test_only_the_checkpoint_a_rerun_resumes_from_is_read(layout):
    """LLaVA's train() resumes from the highest checkpoint-N: a diverged earlier one does not block it."""
    resume_checkpoint(layout, 9, [float("nan")] * 4)
    resume_checkpoint(layout, 10, [0.0, 1.0, -1.0, 0.5])
    check_train_arguments(train_argv(layout), LLAVA)
