"""`--pack_sequences`: the language model's forward over packed rows (packing.py says what a row is).

The training collator adds `pack_to_length` (the run's --model_max_length) to every batch. The
model's forward, wrapped here, sees it and
  1. lets LLaVA's `prepare_inputs_labels_for_multimodal` splice the image features in, unchanged;
  2. packs the spliced samples into rows (position ids restart per sample);
  3. calls LLaVA's forward with the packed embeddings and the mask the attention implementation
     needs (packing.py says which; how packed rows attend is printed at the first packed batch).
The loss is LLaVA's: the mean over the label tokens of the batch, which are the same tokens as
unpacked. A batch without `pack_to_length` (evaluation, generation, a run without the flag) takes
LLaVA's forward untouched.
"""
from __future__ import annotations

import importlib

import torch

from socialfusion_plugin.host.llava.packing.packed_attention import (PackedSegments, announce_packed_attention,
                                                                    install_per_sample_attention,
                                                                    per_sample_attention_ready)
from socialfusion_plugin.host.llava.packing.packing import block_diagonal_causal_mask, pack_spliced, packed_unpad_data

PACK_KEY = "pack_to_length"
FLASH_ATTENTION = "flash_attention_2"


def pack_forward_inputs(model, kwargs: dict, max_length: int):
    """LLaVA's spliced inputs for `kwargs` (a training batch), packed: (PackedBatch, kwargs for the
    language model's forward)."""
    input_ids = kwargs.pop("input_ids", None)
    attention_mask = kwargs.pop("attention_mask", None)
    position_ids = kwargs.pop("position_ids", None)
    labels = kwargs.pop("labels", None)
    images = kwargs.pop("images", None)
    image_sizes = kwargs.pop("image_sizes", None)
    if kwargs.get("past_key_values") is not None:
        raise ValueError("packed sequences are for training: past_key_values cannot be packed")
    if labels is None:
        raise ValueError("packed sequences are for training: a batch without labels cannot be packed")
    _, _, real, _, embeds, labels = model.prepare_inputs_labels_for_multimodal(
        input_ids, position_ids, attention_mask, None, labels, images, image_sizes)
    if embeds is None:  # a model without a vision tower, or a batch without images
        embeds = model.get_model().embed_tokens(input_ids)
    if real is None:
        real = torch.ones(embeds.shape[:2], dtype=torch.bool, device=embeds.device)
    packed, language_kwargs = packed_language_inputs(model, embeds, labels, real, max_length)
    kwargs.update(input_ids=None, use_cache=False, **language_kwargs)
    return packed, kwargs


def _rope_depends_on_length(config) -> bool:
    """Dynamic NTK scaling changes every position's rotation with the row's length, so a row of
    all samples end to end would not be what each sample gets unpacked."""
    scaling = getattr(config, "rope_scaling", None) or {}
    return scaling.get("type") == "dynamic"


def packed_language_inputs(model, embeds: torch.Tensor, labels: torch.Tensor, real: torch.Tensor,
                           max_length: int):
    """Spliced samples (a padded batch, `real` True on tokens) packed for the language model's
    forward: (PackedBatch, the forward's inputs_embeds, attention_mask, position_ids, labels)."""
    implementation = getattr(model.config, "_attn_implementation", None)
    flash = implementation == FLASH_ATTENTION
    per_sample = flash or per_sample_attention_ready(model)
    end_to_end = per_sample and not _rope_depends_on_length(model.config)
    announce_packed_attention(model, embeds.dtype, embeds.device, per_sample and not flash)
    packed = pack_spliced(embeds, labels, real, max_length, need_padding_position=flash, end_to_end=end_to_end)
    if flash:
        mask = packed.segment_ids  # sample numbers; packed_unpad_data makes cu_seqlens from them
    elif per_sample:
        mask = packed.segment_ids.as_subclass(PackedSegments)  # packed_attention.py attends by them
    else:
        # in the embeddings' dtype: eager's mask preparation computes `1.0 - mask` as given
        mask = block_diagonal_causal_mask(packed.segment_ids).to(packed.inputs_embeds.dtype)
    return packed, dict(inputs_embeds=packed.inputs_embeds, attention_mask=mask,
                        position_ids=packed.position_ids, labels=packed.labels)


def wrap_forward(original):
    def forward(self, *args, pack_to_length=None, **kwargs):
        if pack_to_length is None or args or kwargs.get("inputs_embeds") is not None:
            return original(self, *args, **kwargs)
        _, packed_kwargs = pack_forward_inputs(self, kwargs, int(pack_to_length))
        return original(self, **packed_kwargs)

    forward.__wrapped__ = original
    forward._socialfusion_packing = True
    return forward


def install_flash_attention_unpadding() -> bool:
    """Route transformers' Llama flash_attention_2 unpadding through `packed_unpad_data`; True if
    installed now. A 0/1 mask still goes to transformers' own function."""
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    current = modeling_llama._get_unpad_data
    if getattr(current, "_socialfusion_packing", False):
        return False
    original = current

    def _get_unpad_data(attention_mask):
        return packed_unpad_data(attention_mask, original=original)

    _get_unpad_data._socialfusion_packing = True
    _get_unpad_data.__wrapped__ = original
    modeling_llama._get_unpad_data = _get_unpad_data
    return True


def install_packing(model_class) -> None:
    """Idempotent: LLaVA's causal-LM class accepts `pack_to_length`; sdpa, eager and FlashAttention
    attend per sample."""
    if not getattr(model_class.forward, "_socialfusion_packing", False):
        model_class.forward = wrap_forward(model_class.forward)
    install_flash_attention_unpadding()
    install_per_sample_attention()


class PackingCollator:
    """LLaVA's collator, plus `pack_to_length` in every batch it makes."""

    def __init__(self, collator, max_length: int):
        if max_length is None or int(max_length) <= 0:
            raise ValueError(f"packing needs a positive --model_max_length, got {max_length!r}")
        self.collator = collator
        self.max_length = int(max_length)

    def __call__(self, instances):
        batch = self.collator(instances)
        batch[PACK_KEY] = self.max_length
        return batch
