"""One reading of a checkpoint folder decides its kind for every loader: LLaVA's loader (eval,
merge), the trainable rebuild (conflict) and the forgetting check's plain-language-model test."""
import json

import pytest

from socialfusion_plugin.host.llava.loading import checkpoints
from socialfusion_plugin.host.llava.inference import general_loss
from socialfusion_plugin.host.llava.diagnostics import model_factory
from socialfusion_plugin.host.llava.loading.checkpoint_files import inspect_checkpoint


def folder(tmp_path, name, config=None, files=()):
    path = tmp_path / name
    path.mkdir()
    if config is not None:
        (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    for file in files:
        (path / file).write_bytes(b"")
    return path


LLAVA = {"model_type": "llava_llama", "mm_vision_tower": "open_clip:ViT-B-32@openai"}
PLAIN = {"model_type": "llama"}


@pytest.mark.parametrize("name, config, files, base, loader, trainable, language_only", [
    ("lora", LLAVA, ("adapter_config.json", "non_lora_trainables.bin"), "base", "lora", "lora", False),
    ("projector", LLAVA, ("mm_projector.bin",), "base", "projector", "full", False),
    ("full", LLAVA, (), None, "full", "full", False),
    ("plain", PLAIN, (), None, "language-model", "base", True),
    ("plain-lora", PLAIN, ("adapter_config.json",), "base", "language-model", "lora", False),
])
def test_every_loader_reads_the_same_files_the_same_way(tmp_path, name, config, files, base, loader, trainable,
                                                        language_only):
    path = folder(tmp_path, name, config, files)
    contents = inspect_checkpoint(path)
    assert contents.multimodal == ("mm_vision_tower" in config)
    assert checkpoints.checkpoint_kind(path, base) == loader
    assert model_factory.checkpoint_kind(path) == trainable
    assert general_loss.is_language_model_only(path, base) is language_only


def test_missing_pieces_are_named(tmp_path):
    lora = folder(tmp_path, "lora", LLAVA, ("adapter_config.json",))
    with pytest.raises(checkpoints.CheckpointError, match="pass the base language model with --model-base"):
        checkpoints.checkpoint_kind(lora, None)
    with pytest.raises(checkpoints.CheckpointError, match="no non_lora_trainables.bin"):
        checkpoints.checkpoint_kind(lora, "base")
    empty = folder(tmp_path, "empty")
    with pytest.raises(checkpoints.CheckpointError, match="has no config.json"):
        checkpoints.checkpoint_kind(empty, None)
    with pytest.raises(checkpoints.CheckpointError, match="no config.json"):
        model_factory.checkpoint_kind(empty)
    assert general_loss.is_language_model_only(empty, None) is False


def test_dead_helpers_are_gone():
    from socialfusion_plugin.host.llava.inference import batch_generation

    assert not hasattr(checkpoints, "is_lora_checkpoint") and not hasattr(batch_generation, "first_line")
