"""`--pack_sequences`: the samples of a batch, image features already spliced in, laid into rows,
and the language model's forward over those rows.

The training collator adds `pack_to_length` (the run's --model_max_length) to every batch. The
model's forward, wrapped here, sees it, lets LLaVA's `prepare_inputs_labels_for_multimodal` splice
the image features in, unchanged (each sample's text tokens with every `<image>` replaced by its
visual tokens, truncated to `tokenizer_model_max_length`), packs the spliced samples into rows and
calls LLaVA's forward with the packed embeddings and the mask the attention implementation needs;
how packed rows attend is printed at the first packed batch. A sample's length is exactly what the
language model sees (576 or 144 visual tokens per image included, whatever the tower and connector
make). A batch without `pack_to_length` (evaluation, generation, a run without the flag) takes
LLaVA's forward untouched.

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
  the same set, and the loss (LLaVA's: the mean over them) is the same number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import torch
import torch.nn.functional as F

from socialfusion_plugin.host.llava.packing.packed_attention import (
    PackedSegments, announce_packed_attention, install_flash_attention_unpadding, install_per_sample_attention,
    per_sample_attention_ready)

IGNORE_INDEX = -100  # LLaVA's llava.constants.IGNORE_INDEX (kept here: this module does not import llava)
PACK_KEY = "pack_to_length"  # what the collator adds to a batch: the row length, --model_max_length


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


def pack_forward_inputs(model, kwargs: dict, max_length: int):
    """LLaVA's spliced inputs for `kwargs` (a training batch), packed: (PackedBatch, kwargs for the
    language model's forward)."""
    input_ids, attention_mask, position_ids, labels, images, image_sizes = (
        kwargs.pop(name, None) for name in ("input_ids", "attention_mask", "position_ids", "labels", "images",
                                            "image_sizes"))
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
    flash = getattr(model.config, "_attn_implementation", None) == "flash_attention_2"
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
