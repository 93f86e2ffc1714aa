"""Sequence packing: the samples of a batch, image features already spliced in, laid into rows.

LLaVA's `prepare_inputs_labels_for_multimodal` turns each sample into embeddings (text tokens with
every `<image>` replaced by its visual tokens), truncates each to `tokenizer_model_max_length`, and
pads the batch to its longest sample. Packing starts from those spliced embeddings, so a sample's
length is exactly what the language model sees (576 or 144 visual tokens per image included,
whatever the tower and connector make), and LLaVA's own splicing stays untouched.

- Rows hold up to `max_length` positions and are padded to the longest row; the plan minimizes
  rows x longest row (`plan_rows`). Where attention is computed per sample (sdpa and eager through
  packed_attention.py, flash_attention_2 through its variable-length kernel), the planned rows are
  laid end to end in one row, so no position is padding. A sample is never split. A sample longer
  than `max_length` (possible only when the model has no `tokenizer_model_max_length`) gets a row
  of its own, as without packing.
- Each sample keeps its position ids 0..n-1 and attends only to itself (causally): sdpa and eager
  get the sample numbers (packed_attention.py), or, where that cannot run, a block-diagonal causal
  4D mask (1 = attend); flash_attention_2 gets a 2D mask of sample
  numbers (1, 2, ... within a row, 0 = padding) that `packed_unpad_data` turns into the
  `cu_seqlens` of FlashAttention's variable-length kernel.
- Labels are the samples' own labels, except each sample's first position, which is set to
  IGNORE_INDEX: there the previous sample's last token would predict it. Unpacked, the first
  label is never a target either (the causal shift drops it), so the label tokens that count are
  the same set, and the loss, the mean over them, is the same number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100  # LLaVA's llava.constants.IGNORE_INDEX (kept here: this module does not import llava)


def _first_fit_decreasing(order: List[int], lengths: Sequence[int], cap: int) -> List[List[int]]:
    rows: List[List[int]] = []
    filled: List[int] = []
    for index in order:
        length = int(lengths[index])
        for row, used in enumerate(filled):
            if used + length <= cap:
                rows[row].append(index)
                filled[row] += length
                break
        else:
            rows.append([index])
            filled.append(length)
    return rows


def _balanced(order: List[int], lengths: Sequence[int], count: int) -> List[List[int]]:
    """Longest first, each sample to the least-filled of `count` rows."""
    rows: List[List[int]] = [[] for _ in range(count)]
    filled = [0] * count
    for index in order:
        row = min(range(count), key=lambda r: (filled[r], r))
        rows[row].append(index)
        filled[row] += int(lengths[index])
    return rows


def plan_rows(lengths: Sequence[int], max_length: int) -> List[List[int]]:
    """Sample indices per row, within a row in batch order; deterministic (ties go by index).

    Rows are padded to the longest row, so the cost of a plan is rows x longest row. Candidates:
    first-fit decreasing under every cap that changes its plan (max_length, then just below the
    longest row of the previous plan), and, for every row count, the samples dealt longest first
    to the least-filled row (balanced rows). The cheapest plan whose rows all fit in max_length
    wins (the earlier candidate on a tie). A sample longer than max_length gets a row of its own,
    as without packing."""
    if max_length <= 0:
        raise ValueError(f"max_length must be positive, got {max_length}")
    alone = [[index] for index in range(len(lengths)) if int(lengths[index]) > max_length]
    order = sorted((index for index in range(len(lengths)) if int(lengths[index]) <= max_length),
                   key=lambda index: (-int(lengths[index]), index))
    if not order:
        return alone
    floor = max((int(lengths[row[0]]) for row in alone), default=0)  # the padded length is at least this
    longest_sample = int(lengths[order[0]])

    def longest(rows):
        return max(sum(int(lengths[index]) for index in row) for row in rows)

    candidates = []
    cap = max_length
    while cap >= longest_sample:  # each step gives a different plan, with shorter rows
        rows = _first_fit_decreasing(order, lengths, cap)
        candidates.append(rows)
        cap = longest(rows) - 1
    total = sum(int(lengths[index]) for index in order)
    for count in range(max(1, -(-total // max_length)), len(order) + 1):
        rows = _balanced(order, lengths, count)
        if longest(rows) <= max_length:
            candidates.append(rows)
    best = min(candidates, key=lambda rows: (len(rows) + len(alone)) * max(longest(rows), floor))
    return alone + [sorted(row) for row in best]


@dataclass
class PackedBatch:
    """Rows of packed samples. `segment_ids[r, t]` is k for the k-th sample (1-based) of row r at
    position t, 0 for padding; `rows[r]` lists the batch indices of row r's samples, in order.
    `plan` is the planned rows (each within max_length); `rows` is how they are laid out: the same,
    or, laid end to end, all of them in one row."""

    inputs_embeds: torch.Tensor  # (rows, length, hidden)
    labels: torch.Tensor  # (rows, length)
    position_ids: torch.Tensor  # (rows, length), 0.. for each sample, 0 on padding
    segment_ids: torch.Tensor  # (rows, length)
    rows: List[List[int]]
    plan: List[List[int]]

    @property
    def real_positions(self) -> int:
        return int((self.segment_ids > 0).sum())

    @property
    def padding_share(self) -> float:
        total = self.segment_ids.numel()
        return 1.0 - self.real_positions / total if total else 0.0


def pack_spliced(inputs_embeds: torch.Tensor, labels: torch.Tensor, real: torch.Tensor, max_length: int,
                 need_padding_position: bool = False, end_to_end: bool = False) -> PackedBatch:
    """Pack a padded batch of spliced samples (`real[b, t]` True where sample b has a token).

    need_padding_position: give the rows at least one padding position. transformers 4.37's
    LlamaModel drops a flash_attention_2 mask that has no 0 in it (it takes that for "no padding"
    and attends across the whole row); one padding column keeps the sample boundaries in force.
    end_to_end: lay the planned rows one after another in a single row, so no position is padding
    (but the one asked for). Only for attention that is computed per sample (FlashAttention's
    variable-length kernel, packed_attention.py): there row boundaries change nothing, while a
    block-diagonal mask costs length x length per row.
    """
    real = real.bool()
    samples = [inputs_embeds[b][real[b]] for b in range(inputs_embeds.shape[0])]
    sample_labels = [labels[b][real[b]] for b in range(labels.shape[0])]
    plan = plan_rows([sample.shape[0] for sample in samples], max_length)
    rows = [[index for row in plan for index in row]] if end_to_end else plan
    row_lengths = [sum(samples[index].shape[0] for index in row) for row in rows]
    length = max(row_lengths)
    if need_padding_position and min(row_lengths) == length:
        length += 1
    packed_embeds = inputs_embeds.new_zeros((len(rows), length, inputs_embeds.shape[-1]))
    packed_labels = labels.new_full((len(rows), length), IGNORE_INDEX)
    positions = torch.zeros((len(rows), length), dtype=torch.long, device=inputs_embeds.device)
    segments = torch.zeros((len(rows), length), dtype=torch.long, device=inputs_embeds.device)
    for r, row in enumerate(rows):
        start = 0
        for k, index in enumerate(row, start=1):
            n = samples[index].shape[0]
            # the copy into the slice keeps the autograd graph back to the connector and the LoRA layers
            packed_embeds[r, start:start + n] = samples[index]
            packed_labels[r, start + 1:start + n] = sample_labels[index][1:]  # the first stays IGNORE_INDEX
            positions[r, start:start + n] = torch.arange(n, device=positions.device)
            segments[r, start:start + n] = k
            start += n
    return PackedBatch(inputs_embeds=packed_embeds, labels=packed_labels, position_ids=positions,
                       segment_ids=segments, rows=rows, plan=plan)


def block_diagonal_causal_mask(segment_ids: torch.Tensor) -> torch.Tensor:
    """(rows, 1, length, length) bool, True = may attend: same sample and not in the future.
    Padding positions attend to padding only, so no query row is fully masked (no NaN)."""
    length = segment_ids.shape[-1]
    same = segment_ids[:, :, None] == segment_ids[:, None, :]
    causal = torch.ones((length, length), dtype=torch.bool, device=segment_ids.device).tril()
    return (same & causal)[:, None, :, :]


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


def per_sample_losses(logits: torch.Tensor, labels: torch.Tensor, groups: Sequence[Sequence[int]],
                      segment_ids: torch.Tensor) -> List[torch.Tensor]:
    """Mean token loss of each sample, in batch order, from a forward pass over rows.

    groups/segment_ids describe the rows: for a packed batch, `PackedBatch.rows` and
    `.segment_ids`; for an unpacked batch, [[0], [1], ...] and the padding mask (1 = token).
    Logits at t predict labels at t+1, within a sample only."""
    shifted_logits = logits[:, :-1, :].float()
    targets = labels[:, 1:].clone()
    same_sample = segment_ids[:, 1:] == segment_ids[:, :-1]
    targets[~same_sample] = IGNORE_INDEX
    token_losses = F.cross_entropy(shifted_logits.transpose(1, 2), targets, ignore_index=IGNORE_INDEX,
                                   reduction="none")
    counted = targets != IGNORE_INDEX
    count = sum(len(group) for group in groups)
    losses: List[torch.Tensor] = [torch.tensor(float("nan"))] * count
    for r, group in enumerate(groups):
        for k, index in enumerate(group, start=1):
            here = counted[r] & (segment_ids[r, 1:] == k)
            losses[index] = token_losses[r][here].sum() / here.sum().clamp(min=1)
    return losses
