"""Gradient conflict: grouping and cosine arithmetic on constructed gradients; a fresh model in
process; and, end to end, LoRA checkpoints of a run trained on two opposing tasks (same images and
prompts, swapped answers): a task agrees with itself (~1) and opposes its swap (< 0)."""
import json
import os
import subprocess
import sys

import pytest
import torch

from socialfusion_plugin.analysis.conflict.run import conflict_groups, parameter_groups, pair_summary
from socialfusion_plugin.cli.main import main
from socialfusion_plugin.host.llava.llava_host import LLAVA

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_groups_and_cosines_on_constructed_gradients():
    names = ["base_model.model.model.mm_projector.0.weight",
             "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight",
             "base_model.model.model.layers.1.self_attn.q_proj.lora_B.default.weight"]
    groups = parameter_groups(names, LLAVA)
    assert groups["connector"] == names[:1] and groups["lora_layer_00"] == names[1:2]
    assert groups["lora_layer_01"] == names[2:] and len(groups["all"]) == 3
    g = {"a": {n: torch.tensor([1.0, 2.0]) for n in names},
         "b": {n: torch.tensor([2.0, 4.0]) for n in names},
         "c": {names[0]: torch.tensor([-1.0, -2.0]), names[1]: torch.tensor([2.0, -1.0]), names[2]: torch.zeros(2)}}
    out = conflict_groups(g, LLAVA)
    assert out["connector"]["matrix"][0][1] == pytest.approx(1.0) and out["connector"]["matrix"][0][2] == pytest.approx(-1.0)
    assert out["lora_layer_00"]["matrix"][0][2] == pytest.approx(0.0)
    assert out["lora_layer_01"]["matrix"][2][0] is None  # a zero gradient has no direction
    assert out["connector"]["negative_pairs"] == 2 and out["connector"]["negative_share"] == pytest.approx(2 / 3)
    assert pair_summary(["a", "b"], [[1.0, None], [None, 1.0]])["negative_share"] is None


def _write_answer_tasks(color_data, folder):
    """Two tasks on the same images and prompts: one answers 'red', the other 'blue'."""
    records = json.loads(color_data.read_text())
    files = {}
    for name, answer in (("say_red", "red"), ("say_blue", "blue")):
        files[name] = folder / f"{name}.json"
        files[name].write_text(json.dumps([
            dict(r, id=f"{r['id']}-{name}", conversations=[r["conversations"][0], {"from": "gpt", "value": answer}])
            for r in records]))
    return files


def test_fresh_model_from_a_plain_language_model(tiny_assets, color_data, tmp_path, capsys):
    """--model-path a base LLM + --vision-tower: fresh connector and LoRA (B = 0, so LoRA A has no gradient)."""
    from socialfusion_plugin.analysis.conflict.run import average_gradient
    from socialfusion_plugin.host.llava.diagnostics.model_factory import make_batch
    from socialfusion_plugin.host.llava.diagnostics.model_factory import load_trainable_model

    trainable = load_trainable_model(tiny_assets.llm_dir, vision_tower=tiny_assets.vision_tower)
    assert trainable.kind == "base"
    records = json.loads(color_data.read_text())[:2]
    grads = average_gradient(trainable.built.model, [make_batch(trainable.built, records, str(color_data.parent / "images"))],
                             lambda model, batch: model(**batch).loss)
    assert all(float(v.abs().sum()) == 0.0 for k, v in grads.items() if "lora_A" in k)
    assert any(float(v.abs().sum()) > 0.0 for k, v in grads.items() if "lora_B" in k)
    assert any(float(v.abs().sum()) > 0.0 for k, v in grads.items() if "mm_projector" in k)

    files = _write_answer_tasks(color_data, tmp_path)
    images = str(color_data.parent / "images")
    argv = ["conflict", "--model-path", str(tiny_assets.llm_dir), "--vision-tower", tiny_assets.vision_tower,
            "--tasks", "say_red", "say_blue", "--data", f"say_red={files['say_red']}", "--data", f"say_blue={files['say_blue']}",
            "--image-folder", f"say_red={images}", "--image-folder", f"say_blue={images}", "--batches", "1",
            "--batch-size", "2", "--out", str(tmp_path / "out"), "--no-progress"]
    assert main(argv) == 0
    result = json.loads((tmp_path / "out" / "conflict.json").read_text())
    assert result["checkpoints"][0]["kind"] == "base" and result["data"]["say_red"]["records"] == 16
    heatmap = tmp_path / "out" / f"conflict_heatmap_{tiny_assets.llm_dir.name}.png"  # named after the model
    assert heatmap.read_bytes().startswith(PNG_MAGIC) and heatmap.with_suffix(".pdf").is_file()
    assert main(argv[:3] + argv[5:]) == 2  # no --vision-tower for a plain language model
    assert "pass --vision-tower" in capsys.readouterr().err


@pytest.mark.slow
def test_opposing_tasks_conflict_on_checkpoints_of_a_run(tiny_assets, color_data, tmp_path, capsys):
    files = _write_answer_tasks(color_data, tmp_path)
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps(json.loads(files["say_red"].read_text()) + json.loads(files["say_blue"].read_text())))
    run_dir = tmp_path / "run"
    images = str(color_data.parent / "images")
    train = [sys.executable, "-m", "socialfusion_plugin.train", "--model_name_or_path", str(tiny_assets.llm_dir),
             "--version", "v1", "--data_path", str(mixed), "--image_folder", images,
             "--vision_tower", tiny_assets.vision_tower, "--mm_projector_type", "mlp2x_gelu",
             "--mm_vision_select_layer", "-2", "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False",
             "--lora_enable", "True", "--lora_r", "8", "--lora_alpha", "16", "--mm_projector_lr", "1e-2",
             "--learning_rate", "1e-2", "--bf16", "False", "--max_steps", "40", "--per_device_train_batch_size", "8",
             "--save_strategy", "steps", "--save_steps", "20", "--logging_steps", "10", "--model_max_length", "256",
             "--dataloader_num_workers", "0", "--report_to", "none", "--seed", "0", "--output_dir", str(run_dir)]
    done = subprocess.run(train, cwd=tmp_path, env=dict(os.environ, PYTHONUNBUFFERED="1"), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]

    data_root = tmp_path / "data"  # the data layout: converted/<task>_train.json + <task>/ images
    (data_root / "converted").mkdir(parents=True)
    for name in ("say_red", "say_blue", "say_red_again"):
        source = files["say_red" if name == "say_red_again" else name]
        (data_root / "converted" / f"{name}_train.json").write_text(source.read_text())
        (data_root / name).symlink_to(images)
    out = tmp_path / "conflict"
    argv = ["conflict", "--model-path", str(run_dir / "checkpoint-20"), str(run_dir / "checkpoint-40"),
            "--model-base", str(tiny_assets.llm_dir), "--tasks", "say_red", "say_red_again", "say_blue",
            "--data-root", str(data_root), "--batches", "2", "--batch-size", "4", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    result = json.loads((out / "conflict.json").read_text())
    final = result["checkpoints"][-1]
    assert [c["step"] for c in result["checkpoints"]] == [20, 40] and final["kind"] == "lora"
    # new checkpoints carry the connector as safetensors too, and that is the file read
    assert final["loaded_tensors"]["non_lora_trainables.safetensors"] == 4 and final["loaded_tensors"]["adapter_model.safetensors"] > 0
    assert "non_lora_trainables.bin" not in final["loaded_tensors"]
    matrix = final["groups"]["all"]["matrix"]
    assert matrix[0][1] > 0.9  # the same task on other seeded batches
    assert matrix[0][2] < -0.3 and matrix[1][2] < -0.3  # swapped answers oppose
    assert final["groups"]["all"]["negative_share"] == pytest.approx(2 / 3)
    for name in (f"conflict_heatmap_00_{run_dir.name}_checkpoint-20.png",
                 f"conflict_heatmap_01_{run_dir.name}_checkpoint-40.png", "conflict_trend.png"):
        data = (out / name).read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_MAGIC)

    bad = tmp_path / "bad-ckpt"  # a connector file from another model: every key must match
    bad.mkdir()
    for item in (run_dir / "checkpoint-40").iterdir():
        if item.is_file():
            (bad / item.name).write_bytes(item.read_bytes())
    from safetensors.torch import load_file, save_file

    # the connector file read is the .safetensors (the .bin beside it is for stock LLaVA)
    state = load_file(str(bad / "non_lora_trainables.safetensors"))
    state = {key.replace("mm_projector.2", "mm_projector.9"): value for key, value in state.items()}
    save_file(state, str(bad / "non_lora_trainables.safetensors"))
    capsys.readouterr()
    assert main(argv[:2] + [str(bad)] + argv[4:]) == 2
    err = capsys.readouterr().err
    assert "non_lora_trainables.safetensors: keys do not match the rebuilt model" in err and "mm_projector.9" in err

    # LoRA adapters load through peft; still every saved key must find its parameter and every LoRA
    # parameter its key
    bad_lora = tmp_path / "bad-lora"
    bad_lora.mkdir()
    for item in (run_dir / "checkpoint-40").iterdir():
        if item.is_file():
            (bad_lora / item.name).write_bytes(item.read_bytes())
    state = load_file(str(bad_lora / "adapter_model.safetensors"))
    moved = sorted(state)[0]
    state[moved.replace("layers.0.", "layers.9.")] = state.pop(moved)
    save_file(state, str(bad_lora / "adapter_model.safetensors"))
    assert main(argv[:2] + [str(bad_lora)] + argv[4:]) == 2
    err = capsys.readouterr().err
    assert "adapter_model.safetensors: keys do not match the rebuilt model (1 unexpected" in err
    assert "layers.9." in err and "1 parameters not in the file" in err
