"""Training recipes (recipes/*.sh): valid bash, only existing files, only flags the launcher accepts
(LLaVA's HfArgumentParser with the plugin's data-recipe argument), LLaVA-1.5's stage-1 and LoRA defaults,
the stage-1 connector every LoRA recipe requires (PRETRAIN_ADAPTER), and the deepspeed launcher line for
one or many nodes."""
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import transformers

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO / "recipes").glob("*.sh"))
TRAINING_SCRIPTS = [p for p in SCRIPTS if p.name.startswith(("train_", "pretrain_"))]
LORA_SCRIPTS = [p for p in SCRIPTS if p.name.startswith("train_")]
TASKS = ("gesture", "relation", "gaze", "gaze_video", "emotion")
MODULE = ["--module", "socialfusion_plugin.train"]


def test_the_training_recipes_are_shipped():
    names = {path.name for path in TRAINING_SCRIPTS}
    assert {"pretrain_connector.sh", "train_socialfusion_lora.sh", "train_socialfusion_lora_general.sh",
            "train_single_task_lora.sh"} <= names


@pytest.mark.parametrize("script", SCRIPTS + sorted((REPO / "recipes" / "lib").glob("*.sh")), ids=lambda p: p.name)
def test_bash_syntax(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", TRAINING_SCRIPTS, ids=lambda p: p.name)
def test_files_named_in_scripts_exist_and_no_cluster_paths(script):
    text = script.read_text()
    named = set(re.findall(r"(?:recipes|data_recipes)/[\w./$-]+", text))
    for name in named:
        if "$" in name:  # recipes/deepspeed/$DEEPSPEED_CONFIG.json and data_recipes/single_$TASK.yaml
            pattern = re.sub(r"\$\w+", "*", name)
            assert list(REPO.glob(pattern)), f"{script.name}: nothing matches {name}"
        else:
            assert (REPO / name).exists(), f"{script.name} names {name}, which does not exist"
    for forbidden in ("/home/", "/mnt/", "/data/", "/scratch/", "/checkpoints/"):
        assert forbidden not in text, f"{script.name} has a cluster path ({forbidden})"
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text


RECIPE_VARIABLES = ("LAUNCHER", "HOSTFILE", "DATA_RECIPE", "OUTPUT_DIR", "DEEPSPEED_CONFIG", "PRETRAIN_ADAPTER",
                    "CONNECTOR", "DATA_PATH", "IMAGE_FOLDER", "VERSION", "IMAGE_ASPECT_RATIO", "LR", "BATCH_SIZE")
ADAPTER = "stage1/mm_projector.bin"


def run_script(script, *args, cwd=REPO, **env):
    environment = {key: value for key, value in os.environ.items() if key not in RECIPE_VARIABLES}
    environment.update(env)
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=environment, cwd=cwd)


def dry_run(script, *args, **env):
    if Path(script).name.startswith("train_"):
        env.setdefault("PRETRAIN_ADAPTER", ADAPTER)
    result = run_script(script, *args, DRY_RUN="1", **env)
    assert result.returncode == 0, result.stderr
    return shlex.split(result.stdout)


def train_arguments(command):
    index = command.index("socialfusion_plugin.train")
    return command[:index + 1], command[index + 1:]


def parse(arguments):
    from socialfusion_plugin.host import install_train_hooks

    train = install_train_hooks()
    parser = transformers.HfArgumentParser((train.ModelArguments, train.DataArguments, train.TrainingArguments))
    namespace, unknown = parser.parse_known_args(arguments)
    return namespace, unknown


CASES = [("train_socialfusion_lora.sh", (), "social5.yaml", "runs/socialfusion-lora"),
         ("train_socialfusion_lora_general.sh", (), "social5_general.yaml", "runs/socialfusion-lora-general")] + [
    ("train_single_task_lora.sh", (task,), f"single_{task}.yaml", f"runs/single-{task}-lora") for task in TASKS]


@pytest.mark.parametrize("script, args, recipe, output", CASES, ids=lambda c: c if isinstance(c, str) else None)
def test_every_flag_is_accepted_by_the_launcher_and_defaults_follow_llava_1_5(script, args, recipe, output):
    launcher, arguments = train_arguments(dry_run(REPO / "recipes" / script, *args))
    assert launcher == ["deepspeed", "--num_gpus", "8", "--master_port", "29500", *MODULE]
    namespace, unknown = parse(arguments)
    assert unknown == [], f"{script} passes flags LLaVA's parser does not know: {unknown}"
    assert namespace.data_recipe == str(REPO / "data_recipes" / recipe) and Path(namespace.data_recipe).is_file()
    assert namespace.deepspeed == str(REPO / "recipes" / "deepspeed" / "zero2.json")
    assert Path(namespace.deepspeed).is_file()
    assert namespace.output_dir == output
    assert namespace.pretrain_mm_mlp_adapter == ADAPTER  # stage 1's connector, as LLaVA-1.5's finetune_lora.sh
    expected = dict(model_name_or_path="models/vicuna-7b-v1.5", version="v1",
                    vision_tower="open_clip:ViT-L-14-336@openai", mm_vision_select_layer=-2,
                    mm_projector_type="mlp2x_gelu", lora_enable=True, lora_r=128, lora_alpha=256,
                    learning_rate=2e-4, mm_projector_lr=2e-5, lr_scheduler_type="cosine", warmup_ratio=0.03,
                    bf16=True, per_device_train_batch_size=16, model_max_length=2048, group_by_modality_length=True,
                    image_aspect_ratio="pad", weight_decay=0.0, data_path=None)
    for key, value in expected.items():
        assert getattr(namespace, key) == value, key


def test_environment_overrides_reach_the_command():
    launcher, arguments = train_arguments(dry_run(
        REPO / "recipes" / "train_socialfusion_lora.sh", "--max_steps", "3",
        MODEL_PATH="/m/llm", VISION_TOWER="open_clip:ViT-B-16@/w.pt", NUM_GPUS="4", HOSTFILE="hosts",
        MASTER_PORT="29999", DEEPSPEED_CONFIG="zero3_offload", BATCH_SIZE="2", GRAD_ACCUM="8", LR="1e-4",
        OUTPUT_DIR="out", TF32="False"))
    assert launcher == ["deepspeed", "--num_gpus", "4", "--hostfile", "hosts", "--master_port", "29999", *MODULE]
    namespace, unknown = parse(arguments)
    assert unknown == []
    assert (namespace.model_name_or_path, namespace.vision_tower) == ("/m/llm", "open_clip:ViT-B-16@/w.pt")
    assert namespace.deepspeed == str(REPO / "recipes" / "deepspeed" / "zero3_offload.json")
    assert (namespace.per_device_train_batch_size, namespace.gradient_accumulation_steps) == (2, 8)
    assert (namespace.learning_rate, namespace.max_steps, namespace.output_dir, namespace.tf32) == (1e-4, 3, "out", False)


@pytest.mark.parametrize("config", ["zero2", "zero3", "zero3_offload"])
def test_every_shipped_deepspeed_config_is_reachable(config):
    _, arguments = train_arguments(dry_run(REPO / "recipes" / "train_socialfusion_lora.sh", DEEPSPEED_CONFIG=config))
    assert Path(parse(arguments)[0].deepspeed).is_file()


def test_launcher_override_and_no_deepspeed():
    command = dry_run(REPO / "recipes" / "train_socialfusion_lora.sh",
                      LAUNCHER="python -m socialfusion_plugin.train", DEEPSPEED_CONFIG="none")
    assert command[:3] == ["python", "-m", "socialfusion_plugin.train"]
    assert "--deepspeed" not in command


def test_single_task_script_refuses_an_unknown_task():
    result = subprocess.run(["bash", str(REPO / "recipes" / "train_single_task_lora.sh"), "smiles"],
                            capture_output=True, text=True, env=dict(os.environ, DRY_RUN="1"))
    assert result.returncode == 2 and "no data recipe for task 'smiles'" in result.stderr
    result = subprocess.run(["bash", str(REPO / "recipes" / "train_single_task_lora.sh")], capture_output=True, text=True)
    assert result.returncode == 2 and "usage:" in result.stderr


@pytest.mark.parametrize("script, args", [("train_socialfusion_lora.sh", ()), ("train_socialfusion_lora_general.sh", ()),
                                          ("train_single_task_lora.sh", ("gaze",))])
def test_a_lora_recipe_without_a_stage_1_connector_stops_before_anything_runs(script, args, tmp_path):
    # a launcher that would leave a mark: the recipe must stop before it, with exit 2 and what to do
    marker = tmp_path / "launched"
    launcher = tmp_path / "launcher.sh"
    launcher.write_text(f"touch {marker}\n")
    result = run_script(REPO / "recipes" / script, *args, cwd=tmp_path, LAUNCHER=f"bash {launcher}")
    assert result.returncode == 2 and not marker.exists() and result.stdout == ""
    message = result.stderr
    assert "PRETRAIN_ADAPTER is not set" in message
    assert "bash recipes/pretrain_connector.sh" in message  # stage 1
    assert "liuhaotian/llava-v1.5-mlp2x-336px-pretrain-vicuna-7b-v1.5" in message  # the released projector
    assert "open_clip:ViT-L-14-336@openai" in message and "SigLIP" in message  # which tower it fits, which not
    assert "PRETRAIN_ADAPTER=none" in message
    assert "A stage-1 run is here" not in message

    # a finished stage 1 in the default place is pointed at
    (tmp_path / "runs" / "connector-pretrain").mkdir(parents=True)
    (tmp_path / "runs" / "connector-pretrain" / "mm_projector.bin").write_bytes(b"")
    result = run_script(REPO / "recipes" / script, *args, cwd=tmp_path, LAUNCHER=f"bash {launcher}")
    assert result.returncode == 2 and not marker.exists()
    assert "A stage-1 run is here: PRETRAIN_ADAPTER=runs/connector-pretrain/mm_projector.bin" in result.stderr

    # on purpose: the run goes ahead, says the connector starts untrained, and passes no adapter
    result = run_script(REPO / "recipes" / script, *args, cwd=tmp_path, LAUNCHER=f"bash {launcher}",
                        PRETRAIN_ADAPTER="none")
    assert result.returncode == 0 and marker.exists(), result.stderr
    assert "PRETRAIN_ADAPTER=none: the connector starts untrained" in result.stderr
    assert "--pretrain_mm_mlp_adapter" not in dry_run(REPO / "recipes" / script, *args, PRETRAIN_ADAPTER="none")


def test_pretrain_adapter_may_name_the_stage_1_folder(tmp_path):
    stage1 = tmp_path / "stage1"
    stage1.mkdir()
    (stage1 / "mm_projector.bin").write_bytes(b"")
    script = REPO / "recipes" / "train_socialfusion_lora.sh"
    command = dry_run(script, PRETRAIN_ADAPTER=str(stage1))
    assert command[command.index("--pretrain_mm_mlp_adapter") + 1] == str(stage1 / "mm_projector.bin")
    (stage1 / "mm_projector.safetensors").write_bytes(b"")  # the twin that holds no code is preferred
    command = dry_run(script, PRETRAIN_ADAPTER=str(stage1))
    assert command[command.index("--pretrain_mm_mlp_adapter") + 1] == str(stage1 / "mm_projector.safetensors")
    command = dry_run(script, PRETRAIN_ADAPTER="/p/x.bin", CONNECTOR="avgpool2x2_mlp2x_gelu")
    namespace, unknown = parse(train_arguments(command)[1])
    assert unknown == [] and namespace.pretrain_mm_mlp_adapter == "/p/x.bin"
    assert namespace.mm_projector_type == "avgpool2x2_mlp2x_gelu"


def test_pretrain_connector_follows_llava_1_5_stage_1():
    launcher, arguments = train_arguments(dry_run(REPO / "recipes" / "pretrain_connector.sh"))
    assert launcher == ["deepspeed", "--num_gpus", "8", "--master_port", "29500", *MODULE]
    namespace, unknown = parse(arguments)
    assert unknown == [], f"pretrain_connector.sh passes flags LLaVA's parser does not know: {unknown}"
    # scripts/v1_5/pretrain.sh: the connector alone (no LoRA), lr 1e-3, global batch 256 on 8 GPUs, plain template
    expected = dict(model_name_or_path="models/vicuna-7b-v1.5", version="plain", tune_mm_mlp_adapter=True,
                    lora_enable=False, vision_tower="open_clip:ViT-L-14-336@openai", mm_vision_select_layer=-2,
                    mm_projector_type="mlp2x_gelu", mm_use_im_start_end=False, mm_use_im_patch_token=False,
                    learning_rate=1e-3, mm_projector_lr=None, per_device_train_batch_size=32,
                    gradient_accumulation_steps=1, num_train_epochs=1, weight_decay=0.0, warmup_ratio=0.03,
                    lr_scheduler_type="cosine", bf16=True, model_max_length=2048, image_aspect_ratio="square",
                    group_by_modality_length=False, save_steps=24000, pretrain_mm_mlp_adapter=None,
                    data_path="data/llava/LLaVA-Pretrain/blip_laion_cc_sbu_558k.json",
                    image_folder="data/llava/LLaVA-Pretrain/images", output_dir="runs/connector-pretrain")
    for key, value in expected.items():
        assert getattr(namespace, key) == value, key
    assert namespace.deepspeed == str(REPO / "recipes" / "deepspeed" / "zero2.json")

    _, arguments = train_arguments(dry_run(
        REPO / "recipes" / "pretrain_connector.sh", VISION_TOWER="open_clip:ViT-B-16@laion2b_s34b_b88k",
        SOCIALFUSION_DATA="/d", DATA_PATH="/j/captions.json", IMAGE_FOLDER="/j/images", CONNECTOR="linear",
        IMAGE_ASPECT_RATIO="pad", LR="2e-3", BATCH_SIZE="8", OUTPUT_DIR="out"))
    namespace, unknown = parse(arguments)
    assert unknown == []
    assert (namespace.vision_tower, namespace.data_path, namespace.image_folder, namespace.mm_projector_type) == (
        "open_clip:ViT-B-16@laion2b_s34b_b88k", "/j/captions.json", "/j/images", "linear")
    assert (namespace.image_aspect_ratio, namespace.learning_rate, namespace.per_device_train_batch_size,
            namespace.output_dir) == ("pad", 2e-3, 8, "out")
    _, arguments = train_arguments(dry_run(REPO / "recipes" / "pretrain_connector.sh", SOCIALFUSION_DATA="/d"))
    assert parse(arguments)[0].data_path == "/d/llava/LLaVA-Pretrain/blip_laion_cc_sbu_558k.json"


def test_pretrain_connector_keeps_a_finished_stage_1(tmp_path):
    (tmp_path / "stage1").mkdir()
    (tmp_path / "stage1" / "mm_projector.bin").write_bytes(b"finished")
    result = run_script(REPO / "recipes" / "pretrain_connector.sh", DRY_RUN="1", OUTPUT_DIR=str(tmp_path / "stage1"))
    assert result.returncode == 2 and result.stdout == ""
    assert f"{tmp_path / 'stage1' / 'mm_projector.bin'} exists (a finished stage 1)" in result.stderr
    assert (tmp_path / "stage1" / "mm_projector.bin").read_bytes() == b"finished"
