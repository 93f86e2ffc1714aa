"""Fixtures of the pre-flight tests: a complete on-disk layout of every input the commands read
(model folders, towers, checkpoints, data, images) made of placeholder files, since the checks only
look at which files exist; and sentinels that fail the test if anything loads or builds a model."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from preflight_helpers import IMAGES, ModelLoadReached, image_folder, llava_records, placeholder, write_json

from socialfusion_plugin.demo.tiny_assets import tiny_tower_architecture


@pytest.fixture
def layout(tmp_path):
    """Every input of train, eval, probe, conflict and merge, complete."""
    root = tmp_path
    llm = root / "models" / "tiny-llm"
    write_json(llm / "config.json", {"model_type": "llama"})
    placeholder(llm / "model.safetensors")
    placeholder(llm / "tokenizer.model")
    arch = write_json(root / "towers" / "pf-tiny-vit.json", tiny_tower_architecture())
    weights = placeholder(root / "towers" / "pf-tiny-vit.pt")
    tower = f"open_clip:{arch}@{weights}"

    lora = root / "runs" / "sf"
    write_json(lora / "config.json", {"model_type": "llava_llama", "mm_vision_tower": tower})
    write_json(lora / "adapter_config.json", {"base_model_name_or_path": str(llm), "r": 8, "lora_alpha": 16})
    placeholder(lora / "adapter_model.safetensors")
    placeholder(lora / "non_lora_trainables.bin")
    full = root / "runs" / "merged"
    write_json(full / "config.json", {"model_type": "llava_llama", "mm_vision_tower": tower})
    placeholder(full / "model.safetensors")
    placeholder(full / "tokenizer.model")

    images = image_folder(root / "data" / "images")
    data = write_json(root / "data" / "data.json", llava_records(IMAGES))
    recipe = root / "recipe.yaml"
    recipe.write_text(f"seed: 0\nsources:\n  - json: {data}\n    image_folder: {images}\n", encoding="utf-8")

    probe_root = root / "probe"
    image_folder(probe_root / "gesture")
    for split in ("train", "test"):
        write_json(probe_root / "converted" / f"gesture_{split}.json", llava_records(IMAGES, meta={"task": "gesture", "label": "like"}))
    conflict_root = root / "conflict"
    for task in ("gesture", "relation"):
        image_folder(conflict_root / task)
        write_json(conflict_root / "converted" / f"{task}_train.json", llava_records(IMAGES))
    return SimpleNamespace(root=root, llm=llm, tower=tower, tower_weights=weights, tower_arch=arch, lora=lora,
                           full=full, images=images, data=data, recipe=recipe, probe_root=probe_root,
                           conflict_root=conflict_root, out=root / "out")


@pytest.fixture
def no_model_loads(monkeypatch):
    """Every way the commands load or build a model raises ModelLoadReached; returns the names hit."""
    import open_clip
    import torch
    import transformers

    import socialfusion_plugin.train as train_entry
    from socialfusion_plugin.analysis import probe_run
    from socialfusion_plugin.analysis.conflict import run as conflict_run
    from socialfusion_plugin.host.llava.diagnostics import model_factory
    from socialfusion_plugin.host.llava.environment import model_hooks
    from socialfusion_plugin.host.llava.loading import checkpoints
    from socialfusion_plugin.host.llava.training import install, launcher

    hits = []

    def sentinel(name):
        def reached(*args, **kwargs):
            hits.append(name)
            raise ModelLoadReached(name)

        return reached

    targets = [
        (transformers.PreTrainedModel, "from_pretrained"), (open_clip, "create_model"), (torch.nn.Module, "__init__"),
        (checkpoints, "load_checkpoint"), (model_factory, "build_model"), (model_factory, "load_trainable_model"),
        (install, "install_train_hooks"), (install, "install_model_hooks"),
        (model_hooks, "install_model_hooks"), (launcher, "main"), (train_entry, "main"),
        (probe_run, "run_probe"), (conflict_run, "run_conflict"),
    ]
    for owner, name in targets:
        monkeypatch.setattr(owner, name, sentinel(f"{getattr(owner, '__name__', owner)}.{name}"))
    return hits
