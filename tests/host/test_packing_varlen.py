"""Packed rows through a variable-length attention kernel (packed_attention.select_varlen_kernel):
which kernel is chosen where, and that a packed batch through the kernel adapters trains exactly like
the same samples unpacked (loss and gradients). The kernels themselves need a CUDA GPU; here torch's
varlen_attn and flash-attn 2's flash_attn_varlen_func are replaced by a pure-torch stand-in with the
same signature, so what is tested on a CPU is everything around the kernel: the unpadding of the
packed rows, the arguments (one causal sequence per sample, int32 offsets) and putting the output back."""
import sys
import types

import pytest
import torch

from socialfusion_plugin.host.llava.packing import packed_attention
from socialfusion_plugin.host.llava.packing.packing import PACK_KEY

from packing_helpers import reference_varlen_attention, set_attention
from test_packing_equivalence import (ROW_LENGTH, SPECS, TOLERANCE, VISUAL_TOKENS, batch, built,  # noqa: F401
                                      trainable_gradients)


@pytest.fixture
def fresh_choice(monkeypatch):
    monkeypatch.setattr(packed_attention, "_CHOSEN", {})


def test_a_cpu_float32_or_dropout_attends_per_sample(fresh_choice):
    kernel, line = packed_attention.select_varlen_kernel(torch.device("cpu"), torch.bfloat16)
    assert kernel is None and "need a CUDA device, this is cpu" in line
    kernel, line = packed_attention.select_varlen_kernel(torch.device("cuda"), torch.float32)
    assert kernel is None and "bf16 or fp16" in line
    kernel, line = packed_attention.select_varlen_kernel(torch.device("cuda"), torch.bfloat16, dropout=0.1)
    assert kernel is None and "dropout" in line


def test_on_cuda_torch_varlen_comes_first_then_flash_attn_2_then_per_sample(fresh_choice, monkeypatch):
    fake = lambda *args: None  # noqa: E731 - only the choice is tested here
    monkeypatch.setattr(packed_attention, "_activate_flash_attention_4", lambda device: "flash-attn-4 is not installed")
    monkeypatch.setattr(packed_attention, "_torch_varlen_kernel", lambda: fake)
    monkeypatch.setattr(packed_attention, "_flash_attn_2_kernel", lambda: fake)
    kernel, line = packed_attention.select_varlen_kernel(torch.device("cuda"), torch.bfloat16)
    assert kernel.name == "torch varlen_attn" and "varlen_attn" in line and "flash-attn-4 is not installed" in line
    monkeypatch.setattr(packed_attention, "_CHOSEN", {})
    monkeypatch.setattr(packed_attention, "_activate_flash_attention_4", lambda device: None)
    kernel, line = packed_attention.select_varlen_kernel(torch.device("cuda"), torch.float16)
    assert kernel.name == "torch varlen_attn + flash-attn-4"
    monkeypatch.setattr(packed_attention, "_CHOSEN", {})
    monkeypatch.setattr(packed_attention, "_torch_varlen_kernel", lambda: None)
    kernel, line = packed_attention.select_varlen_kernel(torch.device("cuda"), torch.bfloat16)
    assert kernel.name == "flash-attn 2" and "has no varlen_attn" in line
    monkeypatch.setattr(packed_attention, "_CHOSEN", {})
    monkeypatch.setattr(packed_attention, "_flash_attn_2_kernel", lambda: None)
    kernel, line = packed_attention.select_varlen_kernel(torch.device("cuda"), torch.bfloat16)
    assert kernel is None and "per-sample attention" in line and "flash-attn is not installed" in line


def test_flash_attn_4_is_not_activated_where_it_is_not_installed(monkeypatch):
    real_find_spec = packed_attention.importlib.util.find_spec
    monkeypatch.setattr(packed_attention.importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("flash_attn") else real_find_spec(name, *a))
    assert "not installed" in packed_attention._activate_flash_attention_4(torch.device("cuda"))


def torch_varlen_stand_in(calls):
    def varlen_attn(query, key, value, cu_seq_q, cu_seq_k, max_q, max_k, is_causal=None, window_size=None, **kw):
        assert is_causal is True or tuple(window_size) == (-1, 0), (is_causal, window_size)
        calls.append(cu_seq_q.tolist())
        assert cu_seq_q.dtype == torch.int32 and not kw
        return reference_varlen_attention(query, key, value, cu_seq_q, cu_seq_k, max_q, max_k, causal=True)
    return varlen_attn


def flash_attn_stand_in(calls):
    def flash_attn_varlen_func(q, k, v, cu_q, cu_k, max_q, max_k, dropout_p=0.0, causal=False):
        assert causal is True and dropout_p == 0.0
        calls.append(cu_q.tolist())
        assert cu_q.dtype == torch.int32
        return reference_varlen_attention(q, k, v, cu_q, cu_k, max_q, max_k, causal=True)
    return flash_attn_varlen_func


@pytest.mark.parametrize("kernel_name", ["torch varlen_attn", "flash-attn 2"])
def test_packed_batch_through_the_varlen_kernel_trains_like_the_unpacked_batch(built, batch, kernel_name,  # noqa: F811
                                                                               monkeypatch):
    calls = []
    if kernel_name == "torch varlen_attn":
        varlen = pytest.importorskip("torch.nn.attention.varlen", reason="this torch has no varlen_attn (2.10+)")
        monkeypatch.setattr(varlen, "varlen_attn", torch_varlen_stand_in(calls))
        attend = packed_attention._torch_varlen_kernel()
    else:
        fake = types.SimpleNamespace(flash_attn_varlen_func=flash_attn_stand_in(calls))
        monkeypatch.setitem(sys.modules, "flash_attn", fake)
        attend = packed_attention._flash_attn_2_kernel()
    kernel = packed_attention.VarlenKernel(kernel_name, attend)
    # what select_varlen_kernel returns on a CUDA GPU, here on the CPU
    monkeypatch.setattr(packed_attention, "select_varlen_kernel",
                        lambda device, dtype, dropout=0.0: (kernel, kernel_name))
    set_attention(built.model, "sdpa")
    unpacked_loss, unpacked = trainable_gradients(built.model, dict(batch))
    assert not calls  # an unpacked batch keeps transformers' attention
    packed_loss, packed = trainable_gradients(built.model, dict(batch, **{PACK_KEY: ROW_LENGTH}))
    assert abs(packed_loss.item() - unpacked_loss.item()) <= TOLERANCE
    worst = max((packed[name] - unpacked[name]).abs().max().item() for name in packed)
    assert worst <= TOLERANCE, worst
    assert all(unpacked[name].abs().max() > 0 for name in packed)
    layers = len(built.model.get_base_model().get_model().layers)
    assert len(calls) == layers  # one kernel call per layer for the whole batch
    lengths = sorted(b - a for a, b in zip(calls[0][:-1], calls[0][1:]))
    assert lengths == sorted(text + (VISUAL_TOKENS if image else 0) for text, image in SPECS)


def test_the_choice_is_printed_once(built, batch, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr(packed_attention, "_ANNOUNCED", set())
    set_attention(built.model, "sdpa")
    for _ in range(2):
        trainable_gradients(built.model, dict(batch, **{PACK_KEY: ROW_LENGTH}))
    out = capsys.readouterr().out
    assert out.count("pack_sequences: attention for packed rows: sdpa: per-sample attention "
                     "(variable-length kernels need a CUDA device, this is cpu)") == 1, out
