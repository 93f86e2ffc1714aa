"""How samples are laid into rows: the plan, labels, position ids, the block-diagonal mask, and the
cu_seqlens FlashAttention's variable-length kernel gets."""
import pytest
import torch

from socialfusion_plugin.host.llava.packing.packed_attention import install_flash_attention_unpadding, packed_unpad_data
from socialfusion_plugin.host.llava.packing.packing import (IGNORE_INDEX, PACK_KEY, PackingCollator,
                                                           block_diagonal_causal_mask, pack_spliced, plan_rows)


def test_plan_never_splits_and_keeps_rows_within_the_limit():
    lengths = [30, 70, 20, 50, 10, 100, 40]
    rows = plan_rows(lengths, 100)
    # first-fit decreasing: 100 | 70 | 50 | 40 -> 50s row | 30 -> 70s row | 20 -> new row | 10 -> 50+40 row
    assert rows == [[5], [0, 1], [3, 4, 6], [2]]
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in row) <= 100 for row in rows)
    assert plan_rows(lengths, 100) == rows  # deterministic


def test_plan_costs_rows_times_the_longest_row():
    # first-fit decreasing under the limit: 2 rows of 10, no padding
    assert plan_rows([6, 5, 4, 3, 2], 10) == [[0, 2], [1, 3, 4]]
    # balanced rows beat filling rows up: 1900 | 700+700 | 700+700 = 3 x 1900 positions, where
    # 1900 | 700+700+... cannot hold a third 700 next to the 1900 anyway
    assert plan_rows([700, 700, 700, 700, 1900], 2048) == [[4], [0, 1], [2, 3]]
    # equal samples: rows without padding (2 x 18 positions)
    lengths = [9, 9, 9, 9]
    rows = plan_rows(lengths, 20)
    assert len(rows) * max(sum(lengths[i] for i in row) for row in rows) == 36


def test_a_sample_longer_than_the_row_gets_a_row_of_its_own():
    assert plan_rows([5, 150, 7], 100) == [[1], [0, 2]]
    with pytest.raises(ValueError):
        plan_rows([1], 0)


def padded_batch(lengths, hidden=3, left=False):
    width = max(lengths)
    embeds = torch.zeros((len(lengths), width, hidden))
    labels = torch.full((len(lengths), width), IGNORE_INDEX)
    real = torch.zeros((len(lengths), width), dtype=torch.bool)
    for b, n in enumerate(lengths):
        span = slice(width - n, width) if left else slice(0, n)
        embeds[b, span] = torch.arange(1, n + 1, dtype=torch.float)[:, None] + 100 * b
        labels[b, span] = torch.arange(n) + 1000 * b
        real[b, span] = True
    return embeds, labels, real


@pytest.mark.parametrize("left", [False, True])
def test_rows_hold_each_sample_whole_with_positions_from_zero(left):
    lengths = [4, 7, 3, 2]
    embeds, labels, real = padded_batch(lengths, left=left)
    packed = pack_spliced(embeds, labels, real, max_length=9)
    assert packed.rows == [[1, 3], [0, 2]]
    assert packed.inputs_embeds.shape == (2, 9, 3)
    # row 0: sample 1 (7 tokens) then sample 3 (2 tokens); row 1: samples 0 and 2, then 2 padding
    assert packed.segment_ids.tolist() == [[1] * 7 + [2] * 2, [1] * 4 + [2] * 3 + [0] * 2]
    assert packed.position_ids.tolist() == [list(range(7)) + [0, 1], list(range(4)) + [0, 1, 2, 0, 0]]
    assert packed.inputs_embeds[0, :, 0].tolist() == [101, 102, 103, 104, 105, 106, 107, 301, 302]
    assert packed.inputs_embeds[1, 7:].abs().sum() == 0
    # labels: the samples' own, except each sample's first position (the previous sample's last
    # token would predict it there; unpacked, the shift never uses it either)
    assert packed.labels[0].tolist() == [IGNORE_INDEX, 1001, 1002, 1003, 1004, 1005, 1006, IGNORE_INDEX, 3001]
    assert packed.labels[1].tolist() == [IGNORE_INDEX, 1, 2, 3, IGNORE_INDEX, 2001, 2002, IGNORE_INDEX, IGNORE_INDEX]
    assert packed.real_positions == sum(lengths)
    assert packed.padding_share == pytest.approx(2 / 18)


def test_rows_laid_end_to_end_leave_no_padding_and_keep_the_plan():
    lengths = [4, 7, 3, 2]
    embeds, labels, real = padded_batch(lengths)
    packed = pack_spliced(embeds, labels, real, max_length=9, end_to_end=True)
    assert packed.plan == [[1, 3], [0, 2]]  # the same plan as in rows
    assert packed.rows == [[1, 3, 0, 2]]  # laid one after another
    assert packed.inputs_embeds.shape == (1, 16, 3) and packed.padding_share == 0.0
    assert packed.segment_ids.tolist() == [[1] * 7 + [2] * 2 + [3] * 4 + [4] * 3]
    assert packed.position_ids.tolist() == [list(range(7)) + [0, 1] + list(range(4)) + [0, 1, 2]]
    assert packed.labels[0, 9].item() == IGNORE_INDEX and packed.labels[0, 10].item() == 1  # sample 0 starts at 9
    flash = pack_spliced(embeds, labels, real, max_length=9, end_to_end=True, need_padding_position=True)
    assert flash.segment_ids.shape == (1, 17) and flash.segment_ids[0, -1].item() == 0


def test_segment_bounds_list_every_sample_of_every_row():
    from socialfusion_plugin.host.llava.packing.packed_attention import segment_bounds

    segments = torch.tensor([[1, 1, 1, 2, 2, 0], [1, 2, 2, 2, 3, 3]])
    assert segment_bounds(segments) == [(0, 0, 3), (0, 3, 5), (1, 0, 1), (1, 1, 4), (1, 4, 6)]
    assert segment_bounds(torch.zeros((2, 3), dtype=torch.long)) == []


def test_flash_attention_rows_always_keep_a_padding_position():
    embeds, labels, real = padded_batch([3, 3])
    assert pack_spliced(embeds, labels, real, 6).segment_ids.tolist() == [[1, 1, 1, 2, 2, 2]]
    packed = pack_spliced(embeds, labels, real, 6, need_padding_position=True)
    assert packed.segment_ids.tolist() == [[1, 1, 1, 2, 2, 2, 0]]


def test_packing_keeps_the_graph_to_the_embeddings():
    embeds, labels, real = padded_batch([2, 3])
    embeds.requires_grad_(True)
    packed = pack_spliced(embeds, labels, real, 8)
    assert packed.inputs_embeds.shape[1] == 5  # rows are as long as the longest row, not max_length
    (packed.inputs_embeds * torch.arange(1.0, 6.0)[None, :, None]).sum().backward()
    assert embeds.grad[real].abs().sum() > 0 and embeds.grad[~real].abs().sum() == 0


def test_mask_is_causal_within_each_sample_only():
    segments = torch.tensor([[1, 1, 2, 2, 2, 0]])
    mask = block_diagonal_causal_mask(segments)
    assert mask.shape == (1, 1, 6, 6)
    assert mask[0, 0].int().tolist() == [
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0],
        [0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 1, 0],
        [0, 0, 0, 0, 0, 1],  # padding attends to padding only: no fully masked query row
    ]


def test_cu_seqlens_count_one_sequence_per_sample():
    mask = torch.tensor([[1, 1, 1, 2, 2, 0], [1, 1, 2, 3, 3, 3]])
    indices, cu_seqlens, max_seqlen = packed_unpad_data(mask)
    assert indices.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert cu_seqlens.tolist() == [0, 3, 5, 7, 8, 11]
    assert cu_seqlens.dtype == torch.int32
    assert max_seqlen == 3


def test_a_plain_padding_mask_goes_to_transformers_own_function():
    from transformers.models.llama import modeling_llama

    original = getattr(modeling_llama._get_unpad_data, "__wrapped__", modeling_llama._get_unpad_data)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    expected = original(mask)
    got = packed_unpad_data(mask, original=original)
    assert got[0].tolist() == expected[0].tolist() and got[1].tolist() == expected[1].tolist()
    assert got[2] == expected[2]
    # without `original`, the same numbers for a 0/1 mask (one sample per row)
    alone = packed_unpad_data(mask)
    assert alone[1].tolist() == [0, 3, 7] and alone[2] == 4


def test_transformers_llama_unpads_packed_rows_by_sample():
    from transformers.models.llama import modeling_llama

    install_flash_attention_unpadding()
    assert install_flash_attention_unpadding() is False  # idempotent
    _, cu_seqlens, _ = modeling_llama._get_unpad_data(torch.tensor([[1, 1, 2, 0]]))
    assert cu_seqlens.tolist() == [0, 2, 3]
    _, cu_seqlens, _ = modeling_llama._get_unpad_data(torch.tensor([[1, 1, 1, 0]]))
    assert cu_seqlens.tolist() == [0, 3]


def test_collator_marks_batches_with_the_row_length():
    collator = PackingCollator(lambda instances: {"input_ids": len(instances)}, 2048)
    assert collator([1, 2]) == {"input_ids": 2, PACK_KEY: 2048}
    with pytest.raises(ValueError, match="model_max_length"):
        PackingCollator(lambda instances: {}, 0)
