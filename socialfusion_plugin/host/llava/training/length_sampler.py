"""The training sampler for `--group_by_modality_length`, seeded and safe for one-modality data.

LLaVA's LengthGroupedSampler draws from torch's GLOBAL random state: the order depends on whatever
consumed random numbers before it, and a resumed run (which restores the RNG state of the
checkpoint) sees a different order than the original run. Older LLaVA versions also crash when one
modality is empty (an all-image social mixture has no text-only sample):
get_modality_length_grouped_indices takes the last megabatch of an empty list. Here:
- the order is a pure function of (seed, epoch): the same on every rank and after a restart;
- with only one modality present, plain length grouping is used (the modality split is moot).
LLaVA's own grouping functions do the grouping, so batches look exactly as LLaVA makes them.
"""
from __future__ import annotations

from typing import List, Optional

import torch
from torch.utils.data import Sampler


class SeededLengthGroupedSampler(Sampler):
    def __init__(self, modality_lengths: List[int], batch_size: int, world_size: int, seed: int):
        self.modality_lengths = list(modality_lengths)
        self.batch_size, self.world_size, self.seed = batch_size, world_size, seed
        # image samples have positive lengths, text-only ones negative (LLaVA's modality_lengths)
        self.by_modality = any(n > 0 for n in self.modality_lengths) and any(n < 0 for n in self.modality_lengths)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.modality_lengths)

    def indices(self) -> List[int]:
        from llava.train.llava_trainer import get_length_grouped_indices, get_modality_length_grouped_indices

        # LLaVA's modality grouping shuffles partly with generator=None (the global RNG): fork the
        # global state and seed it too, so every random draw below is determined by (seed, epoch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + self.epoch)
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            if self.by_modality:
                return get_modality_length_grouped_indices(self.modality_lengths, self.batch_size, self.world_size,
                                                           generator=generator)
            lengths = [abs(length) for length in self.modality_lengths]
            return get_length_grouped_indices(lengths, self.batch_size, self.world_size, generator=generator)

    def __iter__(self):
        return iter(self.indices())


def train_sampler(trainer) -> Optional[Sampler]:
    """The sampler for SocialFusionTrainer._get_train_sampler; None -> the trainer's default."""
    args = trainer.args
    dataset = trainer.train_dataset
    if dataset is None or not getattr(args, "group_by_modality_length", False):
        return None
    lengths = list(dataset.modality_lengths)
    seed = args.data_seed if getattr(args, "data_seed", None) is not None else args.seed
    sampler = SeededLengthGroupedSampler(lengths, args.train_batch_size,
                                         world_size=args.world_size * args.gradient_accumulation_steps, seed=seed)
    if not sampler.by_modality and getattr(args, "process_index", 0) == 0:
        kind = "image" if lengths and lengths[0] > 0 else "text-only"
        print(f"group_by_modality_length: every sample is {kind}; grouping by length only", flush=True)
    return sampler
