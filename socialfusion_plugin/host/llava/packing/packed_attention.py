"""Per-sample attention for packed rows, for the sdpa and eager implementations of transformers'
Llama attention (4.37, the version LLaVA pins), and flash_attention_2's unpadding by sample.

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

Which kernel attends per sample is chosen once per device and dtype (`select_varlen_kernel`) and
printed once by the packed forward: on a CUDA device in half precision, one variable-length kernel
call for all samples of the batch; otherwise one sdpa or eager call per sample. A model loaded with
`--attn_implementation flash_attention_2` takes transformers' own flash path, through
`packed_unpad_data`.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import os
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F

PER_SAMPLE_IMPLEMENTATIONS = ("sdpa", "eager")
HALF_PRECISION = (torch.float16, torch.bfloat16)
# LlamaModel's mask preparations, which hand `PackedSegments` on unchanged once installed
MASK_PREPARATIONS = ("_prepare_4d_causal_attention_mask", "_prepare_4d_causal_attention_mask_for_sdpa")


def packed_unpad_data(attention_mask: torch.Tensor, original=None):
    """`_get_unpad_data` for a mask of sample numbers: (indices, cu_seqlens, max_seqlen) with one
    variable-length sequence per sample rather than per row. A 0/1 mask goes to `original`
    (transformers' own function), so everything that is not packed behaves exactly as before."""
    if original is not None and int(attention_mask.max()) <= 1:
        return original(attention_mask)
    flat = attention_mask.flatten()
    indices = torch.nonzero(flat, as_tuple=False).flatten()
    width = int(attention_mask.max()) + 1
    rows = torch.div(indices, attention_mask.shape[-1], rounding_mode="floor")
    sample_keys = rows * width + flat[indices]  # unique per (row, sample); samples are contiguous
    _, seqlens = torch.unique_consecutive(sample_keys, return_counts=True)
    cu_seqlens = F.pad(torch.cumsum(seqlens, dim=0, dtype=torch.int32), (1, 0))
    max_seqlen = int(seqlens.max()) if seqlens.numel() else 0
    return indices, cu_seqlens, max_seqlen


def install_flash_attention_unpadding() -> bool:
    """Route transformers' Llama flash_attention_2 unpadding through `packed_unpad_data`; True if
    installed now. A 0/1 mask still goes to transformers' own function."""
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    original = modeling_llama._get_unpad_data
    if getattr(original, "_socialfusion_packing", False):
        return False

    def _get_unpad_data(attention_mask):
        return packed_unpad_data(attention_mask, original=original)

    _get_unpad_data._socialfusion_packing = True
    _get_unpad_data.__wrapped__ = original
    modeling_llama._get_unpad_data = _get_unpad_data
    return True


class VarlenKernel(NamedTuple):
    """A variable-length causal attention kernel: (q, k, v) of shape (tokens, heads, dim), int32
    cu_seqlens (samples + 1,) and the longest sample -> (tokens, heads, dim)."""
    name: str
    attend: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]


def _torch_varlen_kernel() -> Optional[Callable]:
    """torch.nn.attention.varlen.varlen_attn (torch 2.10+), causal; None where torch lacks it."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    try:  # 2.10 takes is_causal; later versions a (left, right) window, (-1, 0) being causal
        causal = ({"is_causal": True} if "is_causal" in inspect.signature(varlen_attn).parameters
                  else {"window_size": (-1, 0)})
    except (TypeError, ValueError):
        causal = {"window_size": (-1, 0)}

    def attend(query, key, value, cu_seqlens, max_length):
        return varlen_attn(query, key, value, cu_seqlens, cu_seqlens, max_length, max_length, **causal)

    return attend


def _activate_flash_attention_4(device: torch.device) -> Optional[str]:
    """Switch torch's flash kernels to flash-attn-4's where it is installed and the GPU is Hopper or
    newer (what FA4 is written for); returns why not, or None when active."""
    if importlib.util.find_spec("flash_attn") is None or importlib.util.find_spec("flash_attn.cute") is None:
        return "flash-attn-4 (flash_attn.cute) is not installed"
    try:
        from torch.nn.attention import activate_flash_attention_impl, current_flash_attention_impl
    except ImportError:
        return f"torch {torch.__version__} cannot use flash-attn-4's kernels"
    if torch.cuda.get_device_capability(device)[0] < 9:
        return "flash-attn-4 needs a Hopper or newer GPU"
    try:
        if current_flash_attention_impl() != "FA4":
            activate_flash_attention_impl("FA4")
    except Exception as err:  # noqa: BLE001 - any failure leaves torch's own kernels, named in the choice
        return f"flash-attn-4 could not be activated ({type(err).__name__}: {err})"
    return None


def _flash_attn_2_kernel() -> Optional[Callable]:
    try:
        from flash_attn import flash_attn_varlen_func
    except ImportError:
        return None

    def attend(query, key, value, cu_seqlens, max_length):
        return flash_attn_varlen_func(query, key, value, cu_seqlens, cu_seqlens, max_length, max_length,
                                      dropout_p=0.0, causal=True)

    return attend


_CHOSEN: Dict[Tuple[str, torch.dtype], Tuple[Optional[VarlenKernel], str]] = {}


def select_varlen_kernel(device: torch.device, dtype: torch.dtype, dropout: float = 0.0
                         ) -> Tuple[Optional[VarlenKernel], str]:
    """(the variable-length kernel packed rows use, or None for one sdpa/eager call per sample;
    a line that names the choice and why)."""
    device = torch.device(device)
    if device.type != "cuda":
        return None, f"per-sample attention (variable-length kernels need a CUDA device, this is {device.type})"
    if dtype not in HALF_PRECISION:
        return None, f"per-sample attention (variable-length kernels need bf16 or fp16, the model is {dtype})"
    if dropout > 0:
        return None, "per-sample attention (attention dropout: variable-length kernels here run without it)"
    key = (str(device), dtype)
    if key not in _CHOSEN:
        _CHOSEN[key] = _choose_cuda_kernel(device)
    return _CHOSEN[key]


def _choose_cuda_kernel(device: torch.device) -> Tuple[Optional[VarlenKernel], str]:
    attend = _torch_varlen_kernel()
    if attend is not None:
        why_not_fa4 = _activate_flash_attention_4(device)
        if why_not_fa4 is None:
            return VarlenKernel("torch varlen_attn + flash-attn-4", attend), \
                "torch.nn.attention.varlen.varlen_attn with flash-attn-4's kernels"
        return VarlenKernel("torch varlen_attn", attend), \
            f"torch.nn.attention.varlen.varlen_attn (torch {torch.__version__}; {why_not_fa4})"
    attend = _flash_attn_2_kernel()
    if attend is not None:
        return VarlenKernel("flash-attn 2", attend), \
            f"flash-attn 2's flash_attn_varlen_func (torch {torch.__version__} has no varlen_attn)"
    return None, (f"per-sample attention (torch {torch.__version__} has no varlen_attn (2.10+) and "
                  "flash-attn is not installed)")


def _varlen_attention(kernel: VarlenKernel, query, key, value, segment_ids) -> torch.Tensor:
    """All samples of the packed rows in one kernel call; (rows, heads, length, dim) in and out,
    padding positions 0."""
    rows, heads, length, dim = query.shape
    indices, cu_seqlens, max_length = packed_unpad_data(segment_ids)

    def tokens(tensor):  # (rows, heads, length, dim) -> the samples' tokens, (tokens, heads, dim)
        return tensor.transpose(1, 2).reshape(rows * length, heads, dim)[indices]

    out = kernel.attend(tokens(query), tokens(key), tokens(value), cu_seqlens.to(torch.int32), int(max_length))
    full = out.new_zeros((rows * length, heads, dim)).index_put((indices,), out)
    return full.view(rows, length, heads, dim).transpose(1, 2)


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
    dropout = float(getattr(module, "attention_dropout", 0.0))
    kernel, _ = select_varlen_kernel(query.device, query.dtype, dropout if module.training else 0.0)
    if kernel is not None:
        output = _varlen_attention(kernel, query, key, value, segment_ids)
    else:
        attend = _causal_eager if eager else _causal_sdpa
        output = query.new_zeros((rows, heads, length, dim))
        for row, start, end in segment_bounds(segment_ids):
            sample = (tensor[row:row + 1, :, start:end] for tensor in (query, key, value))
            output[row:row + 1, :, start:end] = attend(*sample, dropout, module.training)
    return module.o_proj(output.transpose(1, 2).reshape(rows, length, heads * dim))


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


def install_per_sample_attention() -> None:
    """Idempotent. Patches Llama's eager and sdpa attention forwards and LlamaModel's two mask
    preparations (all behave as before for any other mask)."""
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    for name, eager in (("LlamaAttention", True), ("LlamaSdpaAttention", False)):
        cls = getattr(modeling_llama, name, None)
        if cls is not None and "forward" in vars(cls) and not getattr(cls.forward, "_socialfusion_packing", False):
            cls.forward = _wrap_attention(cls.forward, eager)
    for name in MASK_PREPARATIONS:
        current = getattr(modeling_llama, name, None)
        if current is not None and not getattr(current, "_socialfusion_packing", False):
            setattr(modeling_llama, name, _pass_segments_on(current))


def per_sample_attention_ready(model) -> bool:
    """The model's attention would attend per sample to a PackedSegments mask."""
    implementation = getattr(model.config, "_attn_implementation", None)
    if implementation not in PER_SAMPLE_IMPLEMENTATIONS:
        return False
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    if not all(getattr(getattr(modeling_llama, name, None), "_socialfusion_packing", False)
               for name in MASK_PREPARATIONS):
        return False
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # under PEFT
    inner = base.get_model() if hasattr(base, "get_model") else getattr(base, "model", None)  # LLaVA / Llama
    layers = getattr(inner, "layers", None)
    if not layers:
        return False
    return all(getattr(type(layer.self_attn).forward, "_socialfusion_packing", False)
               and supports_per_sample_attention(layer.self_attn) for layer in layers)


_ANNOUNCED: set = set()


def announce_packed_attention(model, dtype: torch.dtype, device: torch.device, per_sample: bool) -> None:
    """Print, once per process and choice, how packed rows attend (on the main process only)."""
    implementation = getattr(model.config, "_attn_implementation", None)
    if implementation == "flash_attention_2":
        line = "flash_attention_2: transformers' flash-attn 2 path, one variable-length sequence per sample"
    elif per_sample:
        dropout = float(getattr(model.config, "attention_dropout", 0.0) or 0.0) if model.training else 0.0
        line = f"{implementation}: " + select_varlen_kernel(device, dtype, dropout)[1]
    else:
        line = (f"{implementation}: rows padded to the longest with a block-diagonal causal mask "
                "(this attention class cannot attend per sample)")
    if line not in _ANNOUNCED:
        _ANNOUNCED.add(line)
        if os.environ.get("RANK", "0") == "0":
            print(f"pack_sequences: attention for packed rows: {line}", flush=True)
