"""Fixtures of the evaluation tests: a tiny model trained in-process until greedy generation is
exact on the color dataset (so ranking can be checked against it), saved as a full checkpoint for
the CLI, and converted test splits of the social tasks."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

@pytest.fixture(scope="session")
def trained_color_model(tiny_assets, color_data, tmp_path_factory):
    """Full fine-tuning (no LoRA) of the tiny model: 40 Adam steps on the 16 color samples make its
    greedy answers exact and confident (about 5 s on 2 CPU cores)."""
    import torch

    from socialfusion_plugin.host.llava.diagnostics.model_factory import ModelSpec, build_model, make_batch

    torch.manual_seed(0)
    built = build_model(ModelSpec(str(tiny_assets.llm_dir), tiny_assets.vision_tower, model_max_length=256, lora=False))
    records = json.loads(color_data.read_text())
    batch = make_batch(built, records, str(color_data.parent / "images"))
    trainable = [p for p in built.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=3e-3)
    for _ in range(40):
        loss = built.model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    built.model.eval()
    built.model.config.use_cache = True
    loaded = SimpleNamespace(model=built.model, tokenizer=built.tokenizer, image_processor=built.image_processor,
                             kind="full")
    return SimpleNamespace(loaded=loaded, records=records, image_folder=color_data.parent / "images",
                           final_loss=float(loss.detach()))


@pytest.fixture(scope="session")
def color_checkpoint(trained_color_model, tmp_path_factory):
    """The trained model saved as a full LLaVA checkpoint (tower rebuilt from mm_vision_tower)."""
    out = tmp_path_factory.mktemp("color-llava-checkpoint")
    model = trained_color_model.loaded.model
    state = {k: v for k, v in model.state_dict().items() if ".vision_tower." not in f".{k}"}
    model.save_pretrained(out, state_dict=state, safe_serialization=True)
    trained_color_model.loaded.tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def social_test_splits(tmp_path_factory):
    """{task: (converted test JSON, dataset root)} for the four closed-set-capable tasks + gaze."""
    from socialfusion_plugin import registry
    from socialfusion_plugin.demo.releases import write_all_releases
    from socialfusion_plugin.tasks.conversion import convert

    root = tmp_path_factory.mktemp("social-releases")
    releases = write_all_releases(root / "releases")
    out = {}
    for task in ("gesture", "relation", "gaze", "gaze_video", "emotion"):
        path = root / f"{task}_test.json"
        convert(registry.TASKS.get(task), releases[task], "test", path, progress=False)
        out[task] = (path, releases[task])
    return out



@pytest.fixture(scope="session")
def laid_out_data(tmp_path_factory):
    """The synthetic releases in the data layout, test splits converted where `convert` puts them."""
    from socialfusion_plugin import registry
    from socialfusion_plugin.data_layout import DataLayout
    from socialfusion_plugin.demo.releases import write_all_releases
    from socialfusion_plugin.tasks.conversion import convert

    root = tmp_path_factory.mktemp("suite-data")
    layout = DataLayout(root)
    for task, release in write_all_releases(root).items():
        convert(registry.TASKS.get(task), release, "test", layout.converted(task, "test"), progress=False)
    return root
