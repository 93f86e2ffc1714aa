"""Helpers for the packing tests: LLaVA training batches of chosen lengths, switching a built model's
attention implementation, and a pure-torch stand-in for FlashAttention's kernels (flash-attn needs
CUDA) that computes exactly what they compute, so the flash_attention_2 code path of transformers
can run on a CPU."""
from __future__ import annotations

import importlib
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F

IMAGE_TOKEN_INDEX = -200  # llava.constants
IGNORE_INDEX = -100


def llava_instances(specs: Sequence[Tuple[int, bool]], vocab: int, image_size: int, seed: int = 0) -> List[dict]:
    """One instance per (text tokens, has image), as LLaVA's dataset yields them: token ids with
    `<image>` after BOS for image samples, the first half of the text masked as the prompt, and a
    zero image for text-only samples (LLaVA's multimodal dataset gives those one too)."""
    generator = torch.Generator().manual_seed(seed)
    instances = []
    for text_tokens, has_image in specs:
        ids = torch.randint(3, vocab, (text_tokens,), generator=generator)
        ids[0] = 1  # BOS
        if has_image:
            ids = torch.cat([ids[:1], torch.tensor([IMAGE_TOKEN_INDEX]), ids[1:]])
        labels = ids.clone()
        labels[: max(2, len(ids) // 2)] = IGNORE_INDEX
        image = torch.randn((3, image_size, image_size), generator=generator) if has_image else \
            torch.zeros((3, image_size, image_size))
        instances.append({"input_ids": ids, "labels": labels, "image": image})
    return instances


def set_attention(model, implementation: str) -> None:
    """Switch a built Llama (inside LLaVA, inside PEFT) to eager / sdpa / flash_attention_2."""
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    llama = base.get_model()
    base.config._attn_implementation = implementation
    llama._use_sdpa = implementation == "sdpa"
    llama._use_flash_attention_2 = implementation == "flash_attention_2"
    for layer in llama.layers:
        layer.self_attn.__class__ = modeling_llama.LLAMA_ATTENTION_CLASSES[implementation]
        layer.self_attn._flash_attn_uses_top_left_mask = False


def reference_varlen_attention(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout_p=0.0,
                               softmax_scale=None, causal=False):
    """flash_attn_varlen_func: (total, heads, dim) with one sequence per cu_seqlens interval."""
    assert torch.equal(cu_seqlens_q, cu_seqlens_k) and dropout_p == 0.0
    assert max_seqlen_q == int((cu_seqlens_q[1:] - cu_seqlens_q[:-1]).max())
    out = torch.empty_like(q)
    bounds = cu_seqlens_q.tolist()
    for start, end in zip(bounds[:-1], bounds[1:]):
        if end == start:
            continue
        piece = [t[start:end].transpose(0, 1)[None] for t in (q, k, v)]  # (1, heads, n, dim)
        out[start:end] = F.scaled_dot_product_attention(*piece, is_causal=causal, scale=softmax_scale)[0].transpose(0, 1)
    return out


def reference_attention(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False):
    """flash_attn_func: (batch, n, heads, dim), every row one sequence."""
    assert dropout_p == 0.0
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=causal,
                                         scale=softmax_scale)
    return out.transpose(1, 2)


def reference_pad_input(hidden, indices, batch, seqlen):
    out = hidden.new_zeros((batch * seqlen, *hidden.shape[1:]))
    out[indices] = hidden
    return out.view(batch, seqlen, *hidden.shape[1:])


def install_reference_flash_attention(monkeypatch) -> List[tuple]:
    """Put the stand-ins where transformers' Llama looks for flash-attn's functions; returns the
    list every varlen call's cu_seqlens are appended to."""
    modeling_llama = importlib.import_module("transformers.models.llama.modeling_llama")
    calls: List[tuple] = []

    def varlen(*args, **kwargs):
        calls.append(("varlen", kwargs["cu_seqlens_q"].tolist()))
        return reference_varlen_attention(*args, **kwargs)

    def dense(*args, **kwargs):
        calls.append(("dense", None))
        return reference_attention(*args, **kwargs)

    monkeypatch.setattr(modeling_llama, "flash_attn_varlen_func", varlen, raising=False)
    monkeypatch.setattr(modeling_llama, "flash_attn_func", dense, raising=False)
    monkeypatch.setattr(modeling_llama, "index_first_axis", lambda x, indices: x[indices], raising=False)
    monkeypatch.setattr(modeling_llama, "pad_input", reference_pad_input, raising=False)
    return calls
