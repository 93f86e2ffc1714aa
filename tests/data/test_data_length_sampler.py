"""The --group_by_modality_length sampler: seeded (same order on every rank and after a restart),
LLaVA's grouping, and plain length grouping when one modality is empty."""
from types import SimpleNamespace

import pytest
import torch

from socialfusion_plugin.host.llava.training.trainer import SeededLengthGroupedSampler, train_sampler


def lengths(count, text_only_every=0):
    values = [10 + (i * 7) % 50 for i in range(count)]
    return [-v if text_only_every and i % text_only_every == 0 else v for i, v in enumerate(values)]


def test_order_is_a_function_of_seed_and_epoch_only():
    data = lengths(64, text_only_every=3)
    first = list(SeededLengthGroupedSampler(data, batch_size=4, world_size=2, seed=5))
    torch.manual_seed(123)  # whatever the global random state is (another rank, a restored checkpoint)
    torch.rand(10)
    again = list(SeededLengthGroupedSampler(data, batch_size=4, world_size=2, seed=5))
    assert first == again and sorted(first) == list(range(64))
    other_seed = list(SeededLengthGroupedSampler(data, batch_size=4, world_size=2, seed=6))
    sampler = SeededLengthGroupedSampler(data, batch_size=4, world_size=2, seed=5)
    sampler.set_epoch(1)
    assert other_seed != first and list(sampler) != first


def test_the_global_random_state_is_left_alone():
    state = torch.get_rng_state()
    list(SeededLengthGroupedSampler(lengths(32, 2), batch_size=4, world_size=1, seed=0))
    assert torch.equal(state, torch.get_rng_state())


def test_mixed_modalities_are_grouped_by_modality():
    data = lengths(64, text_only_every=2)
    sampler = SeededLengthGroupedSampler(data, batch_size=4, world_size=2, seed=0)
    assert sampler.by_modality
    order = list(sampler)
    # LLaVA puts the last megabatch of each modality together at the end (32 + 32 samples, megabatches of 8)
    megabatches = [order[i:i + 8] for i in range(0, len(order) - 16, 8)]
    assert len(megabatches) == 6
    for megabatch in megabatches:
        assert len({data[i] > 0 for i in megabatch}) == 1


@pytest.mark.parametrize("sign", [1, -1])
def test_one_modality_falls_back_to_length_grouping(sign):
    data = [sign * value for value in lengths(40)]
    sampler = SeededLengthGroupedSampler(data, batch_size=4, world_size=1, seed=0)
    assert not sampler.by_modality
    order = list(sampler)
    assert sorted(order) == list(range(40))
    for start in range(0, 40, 4):  # LLaVA's length grouping: each megabatch sorted longest first
        batch = [abs(data[i]) for i in order[start:start + 4]]
        assert batch == sorted(batch, reverse=True)


def trainer(group=True, data=None, data_seed=None):
    args = SimpleNamespace(group_by_modality_length=group, train_batch_size=4, world_size=2,
                           gradient_accumulation_steps=2, seed=42, data_seed=data_seed, process_index=0)
    return SimpleNamespace(args=args, train_dataset=SimpleNamespace(modality_lengths=data or lengths(16)))


def test_train_sampler_uses_the_trainer_settings(capsys):
    assert train_sampler(trainer(group=False)) is None  # the trainer's default sampler
    sampler = train_sampler(trainer())
    assert (sampler.batch_size, sampler.world_size, sampler.seed) == (4, 4, 42)
    assert "every sample is image; grouping by length only" in capsys.readouterr().out
    assert train_sampler(trainer(data_seed=7)).seed == 7
