"""What a checkpoint is, decided from its files (never its folder name), and the name handed to
LLaVA's loader so that it takes the matching path."""
import json

import pytest

from socialfusion_plugin.host.llava.loading.checkpoints import CheckpointError, checkpoint_kind, llava_model_name

LLAVA_CONFIG = {"model_type": "llava_llama", "mm_vision_tower": "open_clip:ViT-L-14-336@openai"}


def folder(tmp_path, files, config=LLAVA_CONFIG, name="run"):
    path = tmp_path / name
    path.mkdir()
    if config is not None:
        (path / "config.json").write_text(json.dumps(config))
    for file_name in files:
        (path / file_name).write_bytes(b"")
    return path


@pytest.mark.parametrize("files, config, base, kind", [
    (["adapter_config.json", "adapter_model.safetensors", "non_lora_trainables.bin"], LLAVA_CONFIG, "base", "lora"),
    (["mm_projector.bin"], LLAVA_CONFIG, "base", "projector"),
    (["model.safetensors"], LLAVA_CONFIG, None, "full"),
    (["model.safetensors"], LLAVA_CONFIG, "base", "full"),  # a base given for a full checkpoint is not needed
    (["model.safetensors"], {"model_type": "llama"}, None, "language-model"),
    (["adapter_config.json", "adapter_model.safetensors"], None, "base", "language-model"),  # LoRA of a plain LM
], ids=["lora", "projector", "full", "full-with-base", "language-model", "language-model-lora"])
def test_kind_comes_from_the_files(tmp_path, files, config, base, kind):
    # folder names that would send stock LLaVA down the wrong path
    path = folder(tmp_path, files, config, name="llava-lora-v1" if kind != "lora" else "adapters")
    assert checkpoint_kind(path, base) == kind


@pytest.mark.parametrize("files, base, message", [
    (["adapter_config.json", "adapter_model.safetensors"], "base", "no non_lora_trainables.bin"),
    (["adapter_config.json", "adapter_model.safetensors", "non_lora_trainables.bin"], None, "--model-base"),
    ([], None, "no config.json"),
], ids=["lora-without-connector", "lora-without-base", "not-a-checkpoint"])
def test_unloadable_folders_say_what_is_missing(tmp_path, files, base, message):
    path = folder(tmp_path, files, None if not files else LLAVA_CONFIG)
    with pytest.raises(CheckpointError, match=message):
        checkpoint_kind(path, base)


@pytest.mark.parametrize("model_type, names", [
    ("llava_llama", ["llava-lora", "llava-projector", "llava", "language-model"]),
    ("llava_mpt", ["llava-lora", "llava-projector-mpt", "llava-mpt", "language-model-mpt"]),
    ("llava_mistral", ["llava-lora", "llava-projector-mistral", "llava-mistral", "language-model-mistral"]),
])
def test_name_selects_the_kind_and_keeps_the_model_family(tmp_path, model_type, names):
    path = folder(tmp_path, [], {"model_type": model_type})
    got = [llava_model_name(kind, path) for kind in ("lora", "projector", "full", "language-model")]
    assert got == names
    # what LLaVA's loader tests in the name: 'llava' for a LLaVA model, 'lora' only for LoRA
    assert ["llava" in name for name in got] == [True, True, True, False]
    assert ["lora" in name for name in got] == [True, False, False, False]
