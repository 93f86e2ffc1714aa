"""Per-sample attention for packed rows, for the sdpa and eager implementations of transformers'
Llama attention (4.37, the version LLaVA pins).

A block-diagonal mask isolates the samples of a packed row, but sdpa and eager still compute every
query against every key of the row, so a row of several samples costs what one long sample costs.
Here each sample's attention is computed on its own (causal, positions from 0), as
FlashAttention's variable-length kernel does, so attention costs the sum of the samples' squares.

How the packed layout reaches the attention layers: the packed forward passes the rows' sample
numbers (`PackedSegments`, (rows, length), 1.. per sample, 0 = padding) as the attention mask.
LlamaModel's mask preparation hands them on unchanged (it would turn a mask into a 4D one), and
the attention forward, seeing a 2D integer mask (LlamaModel never gives its layers one in sdpa or
eager mode), attends per sample. The layout travels as an argument of every layer, so gradient
checkpointing recomputes the same thing. Any other mask goes to transformers' own code unchanged.
"""
from __future__ import annotations

import importlib
import inspect
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F

from .packing import packed_unpad_data

PER_SAMPLE_IMPLEMENTATIONS = ("sdpa", "eager")


class PackedSegments(torch.Tensor):
    """Sample numbers of packed rows, marked so that LlamaModel's mask preparation passes them on."""


def is_segment_layout(attention_mask: Optional[torch.Tensor]) -> bool:
    return attention_mask is not None and attention_mask.dim() == 2 and not attention_mask.is_floating_point()


def segment_bounds(segment_ids: torch.Tensor) -> List[Tuple[int, int, int]]:
    """(row, start, end) of every sample, in row order: the sequences FlashAttention's unpadding
    finds in the same sample numbers (packed_unpad_data), as positions in their rows."""
    indices, cu_seqlens, _ = packed_unpad_data(segment_ids)
    length = segment_ids.shape[-1]
    firsts = indices[cu_seqlens[:-1].long()].tolist()
    bounds = []
    for first, count in zip(firsts, (cu_seqlens[1:] - cu_seqlens[:-1]).tolist()):
        row, start = divmod(first, length)
        bounds.append((row, start, start + count))
    return bounds


def supports_per_sample_attention(module) -> bool:
    """The attention module is transformers 4.37's Llama attention, without tensor-parallel slices."""
    config = getattr(module, "config", None)
    needed = ("q_proj", "k_proj", "v_proj", "o_proj", "rotary_emb", "num_heads", "head_dim",
              "num_key_value_heads", "num_key_value_groups", "hidden_size")
    if config is None or getattr(config, "pretraining_tp", 1) != 1 or not all(hasattr(module, n) for n in needed):
        return False
    try:  # 4.37's rotary embedding takes the table length (later versions take position ids)
        return "seq_len" in inspect.signature(module.rotary_emb.forward).parameters
    except (TypeError, ValueError):
        return False


def _causal_eager(query, key, value, dropout: float, training: bool):
    """transformers' eager attention for one sample: additive causal mask, softmax in float32."""
    weights = torch.matmul(query, key.transpose(2, 3)) / math.sqrt(query.shape[-1])
    n = query.shape[-2]
    if n > 1:
        future = torch.ones((n, n), dtype=torch.bool, device=query.device).triu(1)
        weights = weights.masked_fill(future, torch.finfo(weights.dtype).min)
    weights = F.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
    weights = F.dropout(weights, p=dropout, training=training)
    return torch.matmul(weights, value)


def _causal_sdpa(query, key, value, dropout: float, training: bool):
    return F.scaled_dot_product_attention(query, key, value, dropout_p=dropout if training else 0.0,
                                          is_causal=query.shape[-2] > 1)


def packed_attention(module, hidden_states: torch.Tensor, segment_ids: torch.Tensor,
                     position_ids: torch.Tensor, eager: bool) -> torch.Tensor:
    """The attention block's output for packed rows: projections over all positions, attention per
    sample, padding positions 0 (their outputs reach no label)."""
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    rows, length, _ = hidden_states.shape
    heads, kv_heads, dim = module.num_heads, module.num_key_value_heads, module.head_dim
    query = module.q_proj(hidden_states).view(rows, length, heads, dim).transpose(1, 2)
    key = module.k_proj(hidden_states).view(rows, length, kv_heads, dim).transpose(1, 2)
    value = module.v_proj(hidden_states).view(rows, length, kv_heads, dim).transpose(1, 2)
    # positions restart per sample: the table up to the longest sample is what an unpacked pass uses
    cos, sin = module.rotary_emb(value, seq_len=int(position_ids.max()) + 1)
    query, key = modeling_llama.apply_rotary_pos_emb(query, key, cos, sin, position_ids)
    key = modeling_llama.repeat_kv(key, module.num_key_value_groups)
    value = modeling_llama.repeat_kv(value, module.num_key_value_groups)
    attend = _causal_eager if eager else _causal_sdpa
    dropout = float(getattr(module, "attention_dropout", 0.0))
    pieces: List[List[torch.Tensor]] = [[] for _ in range(rows)]
    filled = [0] * rows
    for row, start, end in segment_bounds(segment_ids):
        if start > filled[row]:
            pieces[row].append(query.new_zeros((1, heads, start - filled[row], dim)))
        pieces[row].append(attend(query[row:row + 1, :, start:end], key[row:row + 1, :, start:end],
                                  value[row:row + 1, :, start:end], dropout, module.training))
        filled[row] = end
    for row in range(rows):
        if filled[row] < length:
            pieces[row].append(query.new_zeros((1, heads, length - filled[row], dim)))
    output = torch.cat([torch.cat(row_pieces, dim=2) for row_pieces in pieces], dim=0)
    output = output.transpose(1, 2).reshape(rows, length, heads * dim)
    return module.o_proj(output)


def _wrap_attention(original, eager: bool):
    def forward(self, hidden_states, attention_mask=None, position_ids=None, past_key_value=None,
                output_attentions=False, use_cache=False, **kwargs):
        if not is_segment_layout(attention_mask):
            return original(self, hidden_states, attention_mask=attention_mask, position_ids=position_ids,
                            past_key_value=past_key_value, output_attentions=output_attentions,
                            use_cache=use_cache, **kwargs)
        if past_key_value is not None or output_attentions:
            raise ValueError("packed rows are for training: no cache and no attention weights")
        return packed_attention(self, hidden_states, attention_mask, position_ids, eager), None, None

    forward.__wrapped__ = original
    forward._socialfusion_packing = True
    return forward


def _pass_segments_on(original):
    def prepare(attention_mask, *args, **kwargs):
        if isinstance(attention_mask, PackedSegments):
            return attention_mask.as_subclass(torch.Tensor)
        return original(attention_mask, *args, **kwargs)

    prepare.__wrapped__ = original
    prepare._socialfusion_packing = True
    return prepare


def install_per_sample_attention() -> bool:
    """Idempotent; True if installed now. Patches Llama's eager and sdpa attention forwards and
    LlamaModel's two mask preparations (all behave as before for any other mask)."""
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    installed = False
    for name, eager in (("LlamaAttention", True), ("LlamaSdpaAttention", False)):
        cls = getattr(modeling_llama, name, None)
        if cls is not None and "forward" in vars(cls) and not getattr(cls.forward, "_socialfusion_packing", False):
            cls.forward = _wrap_attention(cls.forward, eager)
            installed = True
    for name in ("_prepare_4d_causal_attention_mask", "_prepare_4d_causal_attention_mask_for_sdpa"):
        current = getattr(modeling_llama, name, None)
        if current is not None and not getattr(current, "_socialfusion_packing", False):
            setattr(modeling_llama, name, _pass_segments_on(current))
            installed = True
    return installed


def per_sample_attention_ready(model) -> bool:
    """The model's attention would attend per sample to a PackedSegments mask."""
    implementation = getattr(model.config, "_attn_implementation", None)
    if implementation not in PER_SAMPLE_IMPLEMENTATIONS:
        return False
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    for name in ("_prepare_4d_causal_attention_mask", "_prepare_4d_causal_attention_mask_for_sdpa"):
        if not getattr(getattr(modeling_llama, name, None), "_socialfusion_packing", False):
            return False
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # under PEFT
    inner = base.get_model() if hasattr(base, "get_model") else getattr(base, "model", None)  # LLaVA / Llama
    layers = getattr(inner, "layers", None)
    if not layers:
        return False
    return all(getattr(type(layer.self_attn).forward, "_socialfusion_packing", False)
               and supports_per_sample_attention(layer.self_attn) for layer in layers)
