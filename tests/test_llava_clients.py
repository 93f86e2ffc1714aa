"""LLaVA's own clients on a LLaVA with patches/ applied (a patched COPY of the installed package):
`llava/train/train.py` with the flags of LLaVA's scripts/v1_5/finetune_task_lora.sh scaled down to
the tiny models; then `llava.eval.model_vqa_loader` and `llava.serve.cli` on the LoRA output, an
intermediate `checkpoint-N` and a merged folder, none of which has "llava" or "lora" in its name;
and the patched `load_pretrained_model` itself: path chosen from the files, dtype rule on CPU."""
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PATCHES = sorted((Path(__file__).parent.parent / "patches").glob("llava-*.patch"))
QUESTION = "What color is the square in the picture? Answer with one word."

# Runs inside the patched copy. LLaVA's clients hard-code CUDA and float16 (model_vqa_loader:
# `.to(device='cuda')`, `.to(dtype=torch.float16)`; serve/cli: `.to(model.device, dtype=torch.float16)`).
# On a machine without CUDA, and ONLY for calls made from those two files, a tensor moved to 'cuda' stays
# on the CPU and float16 becomes float32 (the dtype the patched loader loads in on the CPU). Nothing else
# in LLaVA, the plugin or torch is changed.
RUNNER = r'''
import argparse, contextlib, io, json, runpy, sys
import torch

CLIENT_FILES = ("llava/eval/model_vqa_loader.py", "llava/serve/cli.py")
_tensor_to = torch.Tensor.to

def _on_cpu(value):
    if isinstance(value, (str, torch.device)) and str(value).startswith("cuda"):
        return "cpu"
    return torch.float32 if value is torch.float16 else value

def _to(self, *args, **kwargs):
    if sys._getframe(1).f_code.co_filename.replace("\\", "/").endswith(CLIENT_FILES):
        args = tuple(_on_cpu(a) for a in args)
        kwargs = {k: _on_cpu(v) for k, v in kwargs.items()}
    return _tensor_to(self, *args, **kwargs)

ON_CPU = not torch.cuda.is_available()
if ON_CPU:
    torch.Tensor.to = _to

import llava
from llava.model.builder import load_pretrained_model
from llava.mm_utils import get_model_name_from_path

def dtypes(model):
    tower = model.get_vision_tower()
    return {"language_model": str(model.get_model().embed_tokens.weight.dtype),
            "connector": sorted({str(p.dtype) for p in model.get_model().mm_projector.parameters()}),
            "tower": sorted({str(p.dtype) for p in tower.parameters()}) if tower is not None else None}

results = []
for job in json.load(open(sys.argv[1])):
    if job["client"] == "load":
        extra = {"torch_dtype": getattr(torch, job["dtype"])} if job.get("dtype") else {}
        if job.get("device"):
            extra["device"] = job["device"]
        tokenizer, model, processor, _ = load_pretrained_model(
            job["model_path"], job["model_base"], get_model_name_from_path(job["model_path"]), **extra)
        results.append({"image_processor": processor is not None, "dtypes": dtypes(model),
                        "wrapped": hasattr(load_pretrained_model, "socialfusion_original")})
    elif job["client"] == "model_vqa_loader":
        sys.argv = ["model_vqa_loader.py", "--model-path", job["model_path"], "--image-folder", job["image_folder"],
                    "--question-file", job["question_file"], "--answers-file", job["answers_file"],
                    "--temperature", "0", "--max_new_tokens", "4"]
        if job["model_base"]:
            sys.argv += ["--model-base", job["model_base"]]
        runpy.run_module("llava.eval.model_vqa_loader", run_name="__main__")
        results.append({"answers_file": job["answers_file"]})
    else:
        from llava.serve import cli
        args = argparse.Namespace(model_path=job["model_path"], model_base=job["model_base"],
                                  image_file=job["image_file"], device="cpu" if ON_CPU else "cuda",
                                  conv_mode="llava_v1",
                                  temperature=0.0, max_new_tokens=4, load_8bit=False, load_4bit=False, debug=False)
        sys.stdin, printed = io.StringIO(job["say"] + "\n"), io.StringIO()
        with contextlib.redirect_stdout(printed):
            cli.main(args)
        results.append({"printed": printed.getvalue()})
print("LLAVA-FILE", llava.__file__)
print("RESULTS", json.dumps(results))
'''


@pytest.fixture(scope="module")
def patched_llava(tmp_path_factory):
    """A copy of the installed llava package with every patch in patches/ applied."""
    import llava

    root = tmp_path_factory.mktemp("patched-llava")
    shutil.copytree(Path(llava.__file__).parent, root / "llava", ignore=shutil.ignore_patterns("__pycache__"))
    for patch in PATCHES:
        applied = subprocess.run(["git", "apply", str(patch)], cwd=root, capture_output=True, text=True)
        assert applied.returncode == 0, applied.stderr
    return root


def run_patched(patched_llava, command, cwd, stdin=None):
    env = dict(os.environ, PYTHONPATH=str(patched_llava), PYTHONUNBUFFERED="1")
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, input=stdin)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return output


def run_clients(patched_llava, jobs, tmp_path):
    jobs_file, runner = tmp_path / "jobs.json", tmp_path / "run_llava_clients.py"
    jobs_file.write_text(json.dumps(jobs))
    runner.write_text(RUNNER)
    output = run_patched(patched_llava, [sys.executable, str(runner), str(jobs_file)], tmp_path)
    assert f"LLAVA-FILE {patched_llava / 'llava'}" in output  # the patched copy, not the installed package
    return json.loads(output.split("RESULTS ", 1)[1].splitlines()[0])


def test_patched_loader_decides_by_files_and_loads_float32_on_cpu(patched_llava, tiny_assets, tmp_path):
    """Stock LLaVA would take these folder names for plain language models (no image processor) and
    load in float16; the patched loader reads their files, and loads in float32 on the CPU."""
    from tiny_llava_checkpoints import write_lora_and_projector_checkpoints

    from socialfusion_plugin.host.llava.loading.checkpoints import merge_lora

    adapters, stage1 = write_lora_and_projector_checkpoints(tiny_assets, tmp_path)
    merged = merge_lora(adapters, str(tiny_assets.llm_dir), tmp_path / "merged-social")
    base = str(tiny_assets.llm_dir)
    jobs = [{"client": "load", "model_path": str(adapters), "model_base": base, "device": "cpu"},
            {"client": "load", "model_path": str(stage1), "model_base": base, "device": "cpu"},
            {"client": "load", "model_path": str(merged), "model_base": None},  # LLaVA's default device: cuda
            {"client": "load", "model_path": str(merged), "model_base": None, "device": "cpu", "dtype": "bfloat16"}]
    results = run_clients(patched_llava, jobs, tmp_path)
    import torch

    float32, bfloat16, float16 = ({"language_model": f"torch.{name}", "connector": [f"torch.{name}"],
                                   "tower": [f"torch.{name}"]} for name in ("float32", "bfloat16", "float16"))
    expected = [float32, float32, float16 if torch.cuda.is_available() else float32, bfloat16]
    assert [r["dtypes"] for r in results] == expected
    assert all(r["image_processor"] and r["wrapped"] for r in results)


# LLaVA's scripts/v1_5/finetune_task_lora.sh, scaled down: tiny models and data, 3 steps with a
# checkpoint at step 2, no DeepSpeed, float32 on the CPU (no --bf16; --tf32 needs an Ampere GPU),
# dataloader workers 0 (2 CPU cores).
def finetune_task_lora_flags(tiny_assets, data_path, image_folder, output_dir):
    return [
        "--lora_enable", "True", "--lora_r", "8", "--lora_alpha", "16", "--mm_projector_lr", "2e-5",
        "--model_name_or_path", str(tiny_assets.llm_dir), "--version", "v1",
        "--data_path", str(data_path), "--image_folder", str(image_folder),
        "--vision_tower", tiny_assets.vision_tower, "--mm_projector_type", "mlp2x_gelu",
        "--mm_vision_select_layer", "-2", "--mm_use_im_start_end", "False", "--mm_use_im_patch_token", "False",
        "--image_aspect_ratio", "pad", "--group_by_modality_length", "True",
        "--output_dir", str(output_dir), "--max_steps", "3",
        "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "4", "--gradient_accumulation_steps", "1",
        "--evaluation_strategy", "no", "--save_strategy", "steps", "--save_steps", "2", "--save_total_limit", "1",
        "--learning_rate", "2e-4", "--weight_decay", "0.", "--warmup_ratio", "0.03", "--lr_scheduler_type", "cosine",
        "--logging_steps", "1", "--model_max_length", "512", "--gradient_checkpointing", "True",
        "--dataloader_num_workers", "0", "--lazy_preprocess", "True", "--report_to", "none",
    ]


@pytest.fixture(scope="module")
def finetuned(patched_llava, tiny_assets, color_data, tmp_path_factory):
    """LLaVA's train.py (patched copy) on image samples plus a few text-only ones, as in mix665k."""
    root = tmp_path_factory.mktemp("finetune-task")
    records = json.loads(color_data.read_text())[:8]
    records += [{"id": f"text-{i}", "conversations": [{"from": "human", "value": "Which color is warm?"},
                                                      {"from": "gpt", "value": "red"}]} for i in range(4)]
    data_path = root / "task.json"
    data_path.write_text(json.dumps(records))
    output_dir = root / "task-adapters"
    flags = finetune_task_lora_flags(tiny_assets, data_path, color_data.parent / "images", output_dir)
    output = run_patched(patched_llava, [sys.executable, str(patched_llava / "llava" / "train" / "train.py"), *flags],
                         root)
    return output_dir, output


@pytest.mark.slow
def test_llava_train_py_trains_lora_with_the_patches(finetuned):
    output_dir, output = finetuned
    losses = [float(value) for value in re.findall(r"'loss': ([^,}]+)", output)]
    assert len(losses) == 3 and all(math.isfinite(loss) and loss > 0 for loss in losses), losses
    for folder in (output_dir, output_dir / "checkpoint-2"):
        for name in ("adapter_config.json", "adapter_model.safetensors", "non_lora_trainables.bin", "config.json"):
            assert (folder / name).is_file(), folder / name
    config = json.loads((output_dir / "config.json").read_text())
    assert config["mm_vision_tower"].startswith("open_clip:") and config["mm_projector_type"] == "mlp2x_gelu"


@pytest.mark.slow
def test_llava_eval_and_cli_answer_on_lora_checkpoint_and_merged(patched_llava, finetuned, tiny_assets, color_data,
                                                                  tmp_path):
    from socialfusion_plugin.cli.main import main

    output_dir, _ = finetuned
    merged = tmp_path / "merged-social"
    assert main(["merge", "--model-path", str(output_dir), "--model-base", str(tiny_assets.llm_dir),
                 "--out", str(merged)]) == 0
    images = color_data.parent / "images"
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"question_id": i, "image": f"square_{i:03d}.png", "text": QUESTION}) + "\n"
                                 for i in range(3)))
    base = str(tiny_assets.llm_dir)
    targets = [(output_dir, base), (output_dir / "checkpoint-2", base), (merged, None)]
    jobs = []
    for index, (model_path, model_base) in enumerate(targets):
        jobs.append({"client": "model_vqa_loader", "model_path": str(model_path), "model_base": model_base,
                     "image_folder": str(images), "question_file": str(questions),
                     "answers_file": str(tmp_path / "answers" / f"{index}.jsonl")})
        jobs.append({"client": "cli", "model_path": str(model_path), "model_base": model_base,
                     "image_file": str(images / "square_000.png"), "say": QUESTION})
    results = run_clients(patched_llava, jobs, tmp_path)
    for target, vqa, chat in zip(targets, results[0::2], results[1::2]):
        answers = [json.loads(line) for line in Path(vqa["answers_file"]).read_text().splitlines()]
        assert [a["question_id"] for a in answers] == [0, 1, 2], target
        assert all(isinstance(a["text"], str) for a in answers) and any(a["text"] for a in answers), (target, answers)
        printed = chat["printed"]
        assert "ASSISTANT: " in printed and printed.rstrip().endswith("exit..."), (target, printed)
        reply = printed.split("ASSISTANT: ", 1)[1].rsplit("USER:", 1)[0].strip()
        assert reply, (target, printed)
