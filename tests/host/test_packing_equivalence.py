"""A packed batch trains exactly like the same samples unpacked: same per-sample losses, same batch
loss, same gradients of connector and LoRA (tiny fp32 model), for eager, sdpa and the
flash_attention_2 code path of transformers (with a pure-torch stand-in for the CUDA kernel)."""
import pytest
import torch

from socialfusion_plugin.host.llava.diagnostics.model_factory import ModelSpec, build_model
from socialfusion_plugin.host.llava.packing import packed_attention, packing
from socialfusion_plugin.host.llava.packing.packing import (PACK_KEY, install_packing, pack_forward_inputs,
                                                           per_sample_losses)

from packing_helpers import install_reference_flash_attention, llava_instances, set_attention

TOLERANCE = 1e-5
VISUAL_TOKENS = 16  # the tiny tower: 32 px, patch 8
# (text tokens, has image): short social-like samples, long general-like ones, text-only ones, and
# one (90 text tokens + 16 visual) longer than the row length below, which gets a row of its own
ROW_LENGTH = 72
SPECS = [(12, True), (40, True), (30, False), (9, True), (56, False), (90, True), (20, True), (5, False)]


@pytest.fixture(scope="module")
def built(tiny_assets):
    torch.manual_seed(0)
    built = build_model(ModelSpec(model_name_or_path=str(tiny_assets.llm_dir), vision_tower=tiny_assets.vision_tower))
    with torch.no_grad():  # LoRA B starts at zero: make it random so LoRA A gets gradients too
        for name, param in built.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.05)
    install_packing(type(built.model.get_base_model()))
    return built


@pytest.fixture(scope="module")
def batch(built):
    import llava.train.train as train_module

    image_size = built.image_processor.crop_size["height"]
    instances = llava_instances(SPECS, vocab=len(built.tokenizer), image_size=image_size)
    return train_module.DataCollatorForSupervisedDataset(tokenizer=built.tokenizer)(instances)


def trainable_gradients(model, batch):
    model.zero_grad(set_to_none=True)
    loss = model(**batch).loss
    loss.backward()
    grads = {name: param.grad.detach().clone() for name, param in model.named_parameters()
             if param.requires_grad and ("mm_projector" in name or "lora_" in name)}
    return loss.detach(), grads


@pytest.mark.parametrize("implementation", ["eager", "sdpa", "flash_attention_2"])
def test_packed_batch_gives_the_same_loss_and_gradients(built, batch, implementation, monkeypatch):
    calls = install_reference_flash_attention(monkeypatch) if implementation == "flash_attention_2" else []
    set_attention(built.model, implementation)
    try:
        unpacked_loss, unpacked = trainable_gradients(built.model, dict(batch))
        packed_loss, packed = trainable_gradients(built.model, dict(batch, **{PACK_KEY: ROW_LENGTH}))
    finally:
        set_attention(built.model, "sdpa")
    assert abs(packed_loss.item() - unpacked_loss.item()) <= TOLERANCE
    assert unpacked.keys() == packed.keys()
    assert any("mm_projector" in name for name in packed) and any("lora_A" in name for name in packed)
    worst = max((packed[name] - unpacked[name]).abs().max().item() for name in packed)
    assert worst <= TOLERANCE, worst
    assert all(unpacked[name].abs().max() > 0 for name in packed)  # something was compared
    if implementation == "flash_attention_2":
        # the packed pass went through the variable-length kernel, one sequence per sample
        varlen = [seqlens for kind, seqlens in calls if kind == "varlen" and len(seqlens) - 1 == len(SPECS)]
        assert varlen, calls
        lengths = sorted(b - a for a, b in zip(varlen[0][:-1], varlen[0][1:]))
        spliced = sorted(text + (VISUAL_TOKENS if image else 0) for text, image in SPECS)  # <image> -> 16
        assert lengths == spliced


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_every_sample_keeps_its_own_loss(built, batch, implementation):
    set_attention(built.model, implementation)
    base = built.model.get_base_model()
    try:
        with torch.no_grad():
            _, _, real, _, embeds, labels = base.prepare_inputs_labels_for_multimodal(
                batch["input_ids"], None, batch["attention_mask"], None, batch["labels"], batch["images"])
            unpacked = base(inputs_embeds=embeds, attention_mask=real, labels=labels)
            unpacked_losses = per_sample_losses(unpacked.logits, labels, [[i] for i in range(len(SPECS))], real.long())
            packed, kwargs = pack_forward_inputs(base, dict(batch), ROW_LENGTH)
            packed_out = base(**kwargs)
            packed_losses = per_sample_losses(packed_out.logits, packed.labels, packed.rows, packed.segment_ids)
    finally:
        set_attention(built.model, "sdpa")
    assert len(packed.plan) < len(SPECS)  # several samples share planned rows
    assert sum(len(row) >= 2 for row in packed.plan) >= 2
    assert [5] in packed.plan  # the sample longer than a row is alone
    # attention is per sample, so the planned rows are laid end to end: no position is padding
    assert len(packed.rows) == 1 and sorted(packed.rows[0]) == list(range(len(SPECS)))
    assert packed.padding_share == 0.0
    for index, (a, b) in enumerate(zip(unpacked_losses, packed_losses)):
        assert torch.isfinite(a) and abs(a.item() - b.item()) <= TOLERANCE, (index, a.item(), b.item())
    # the batch loss is the mean over the same label tokens, per token (as LLaVA averages)
    assert abs(unpacked.loss.item() - packed_out.loss.item()) <= TOLERANCE
    counted_unpacked = int((labels[:, 1:] != -100).sum())
    counted_packed = int((packed.labels[:, 1:] != -100).sum())
    assert counted_packed == counted_unpacked


def test_without_the_key_the_forward_is_llava_s(built, batch):
    base = built.model.get_base_model()
    with torch.no_grad():
        out = built.model(**batch)
    assert out.logits.shape[0] == len(SPECS)  # one row per sample: nothing packed
    assert getattr(type(base).forward, "__wrapped__", None) is not None


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_sdpa_and_eager_attend_per_sample_without_a_row_mask(built, batch, implementation, monkeypatch):
    calls = []
    original = packed_attention.packed_attention
    monkeypatch.setattr(packed_attention, "packed_attention", lambda *a, **k: calls.append(a[4]) or original(*a, **k))

    def no_mask(*args, **kwargs):
        raise AssertionError("a length x length mask was built")

    monkeypatch.setattr(packing, "block_diagonal_causal_mask", no_mask)
    set_attention(built.model, implementation)
    try:
        with torch.no_grad():
            built.model(**dict(batch, **{PACK_KEY: ROW_LENGTH}))
    finally:
        set_attention(built.model, "sdpa")
    layers = len(built.model.get_base_model().get_model().layers)
    assert calls == [implementation == "eager"] * layers


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_the_block_diagonal_mask_fallback_trains_the_same(built, batch, implementation, monkeypatch):
    """Where per-sample attention cannot run (e.g. tensor-parallel slices), rows and a 4D mask."""
    monkeypatch.setattr(packing, "per_sample_attention_ready", lambda model: False)
    set_attention(built.model, implementation)
    try:
        unpacked_loss, unpacked = trainable_gradients(built.model, dict(batch))
        packed_loss, packed = trainable_gradients(built.model, dict(batch, **{PACK_KEY: ROW_LENGTH}))
        base = built.model.get_base_model()
        with torch.no_grad():
            layout, _ = pack_forward_inputs(base, dict(batch), ROW_LENGTH)
    finally:
        set_attention(built.model, "sdpa")
    assert len(layout.rows) == len(layout.plan) > 1  # rows as planned, padded to the longest
    assert abs(packed_loss.item() - unpacked_loss.item()) <= TOLERANCE
    assert max((packed[name] - unpacked[name]).abs().max().item() for name in packed) <= TOLERANCE


def test_gradient_checkpointing_recomputes_the_per_sample_attention(built, batch):
    """The layout travels as a layer argument, so recomputation in backward attends per sample too."""
    base = built.model.get_base_model()
    unpacked_loss, unpacked = trainable_gradients(built.model, dict(batch))
    base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    base.enable_input_require_grads()
    base.train()
    try:
        packed_loss, packed = trainable_gradients(built.model, dict(batch, **{PACK_KEY: ROW_LENGTH}))
    finally:
        base.gradient_checkpointing_disable()
        base.eval()
    assert abs(packed_loss.item() - unpacked_loss.item()) <= TOLERANCE
    assert max((packed[name] - unpacked[name]).abs().max().item() for name in packed) <= TOLERANCE


def test_per_sample_attention_is_used_only_where_it_can_run(built):
    base = built.model.get_base_model()
    try:
        for implementation, expected in (("sdpa", True), ("eager", True), ("flash_attention_2", False)):
            set_attention(built.model, implementation)
            assert packed_attention.per_sample_attention_ready(built.model) is expected, implementation
        set_attention(built.model, "sdpa")
        base.config.pretraining_tp = 2  # tensor-parallel slices: the block-diagonal mask instead
        assert packed_attention.per_sample_attention_ready(built.model) is False
    finally:
        base.config.pretraining_tp = 1
        set_attention(built.model, "sdpa")
