"""The SocialFusion model as LLaVA builds it: what gets gradients, and that training learns."""
import json

import pytest
import torch

from socialfusion_plugin.host.llava.diagnostics.model_factory import ModelSpec, build_model, make_batch
from socialfusion_plugin.host.llava.llava_host import LLAVA
from socialfusion_plugin.model.trainable_report import format_trainable_report, trainable_parameters_by_group


@pytest.fixture(scope="module")
def records(color_data):
    return json.loads(color_data.read_text())[:4]


@pytest.fixture
def built(tiny_assets):
    torch.manual_seed(0)
    return build_model(ModelSpec(model_name_or_path=str(tiny_assets.llm_dir), vision_tower=tiny_assets.vision_tower))


def test_tower_gets_zero_gradient_connector_and_lora_get_some(built, records, color_data):
    batch = make_batch(built, records, image_folder=str(color_data.parent / "images"))
    loss = built.model(**batch).loss
    loss.backward()
    grads = {name: p.grad for name, p in built.model.named_parameters()}
    tower = {n: g for n, g in grads.items() if "vision_tower" in n}
    connector = {n: g for n, g in grads.items() if "mm_projector" in n}
    lora = {n: g for n, g in grads.items() if "lora_" in n}
    assert tower and connector and lora
    assert all(g is None or torch.count_nonzero(g) == 0 for g in tower.values())
    assert all(g is not None and torch.count_nonzero(g) > 0 for g in connector.values())
    # lora_B starts at zero, so lora_A gets no gradient on the first step; every lora_B does.
    assert all(g is not None and torch.count_nonzero(g) > 0 for n, g in lora.items() if "lora_B" in n)


def test_trainable_report_counts_the_tower_as_zero(built):
    counts = trainable_parameters_by_group(built.model, LLAVA.parameter_role)
    assert counts["vision tower"][0] == 0 and counts["vision tower"][1] > 0
    assert counts["connector"][0] == counts["connector"][1] > 0
    assert counts["language-model LoRA"][0] > 0
    assert counts["language model (non-LoRA)"][0] == 0
    assert "vision tower                            0 trainable" in format_trainable_report(built.model, LLAVA.parameter_role)


def test_loss_falls_on_a_repeated_batch(built, records, color_data):
    batch = make_batch(built, records, image_folder=str(color_data.parent / "images"))
    params = [p for p in built.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    tower_before = {n: p.detach().clone() for n, p in built.model.named_parameters() if "vision_tower" in n}
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = built.model(**batch).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5, losses  # ~5.9 -> ~5.0 in 8 steps with this seed
    for name, param in built.model.named_parameters():
        if "vision_tower" in name:
            assert torch.equal(param, tower_before[name]), f"{name} changed"


def test_pooled_connector_shortens_the_sequence(tiny_assets, records, color_data):
    spec = dict(model_name_or_path=str(tiny_assets.llm_dir), vision_tower=tiny_assets.vision_tower)
    flat = build_model(ModelSpec(**spec, mm_projector_type="mlp2x_gelu"))
    pooled = build_model(ModelSpec(**spec, mm_projector_type="avgpool2x2_mlp2x_gelu"))
    batch = make_batch(flat, records[:1], image_folder=str(color_data.parent / "images"))
    lengths = []
    for built in (flat, pooled):
        base = built.model.get_base_model()
        _, _, _, _, embeds, _ = base.prepare_inputs_labels_for_multimodal(
            batch["input_ids"], None, batch["attention_mask"], None, batch["labels"], batch["images"])
        lengths.append(embeds.shape[1])
    assert lengths[0] - lengths[1] == 16 - 4  # 4x4 patches become 2x2


def test_building_and_batching_leave_llavas_conversation_template_as_it_was(tiny_assets, records, color_data):
    from llava import conversation as conversation_lib

    before = conversation_lib.default_conversation
    conversation_lib.default_conversation = conversation_lib.conv_templates["plain"]
    try:
        torch.manual_seed(0)
        built = build_model(ModelSpec(model_name_or_path=str(tiny_assets.llm_dir),
                                      vision_tower=tiny_assets.vision_tower, version="v1"))
        batch = make_batch(built, records, image_folder=str(color_data.parent / "images"))
        assert conversation_lib.default_conversation is conversation_lib.conv_templates["plain"]
        # the batch was made with the model's template (v1), whose labels train the answer tokens
        assert int((batch["labels"] != -100).sum()) > 0
    finally:
        conversation_lib.default_conversation = before
