"""Sampling strategies, weights and temperature: exact counts, seeded draws."""
from collections import Counter

import numpy as np
import pytest

from socialfusion_plugin.data import RecipeError
from socialfusion_plugin.data.mixture import derive_seed, select_rows, weighted_counts
from socialfusion_plugin.data.recipe import Strategy, parse_strategy


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("text, expected", [
    ("all", Strategy("all")), ("first:10", Strategy("first", 10)), ("random:3", Strategy("random", 3)),
    ("25%", Strategy("percent", 25)), ("250%", Strategy("percent", 250)), ("12.5%", Strategy("percent", 12.5)),
])
def test_parse_strategy(text, expected):
    assert parse_strategy(text, "k") == expected
    assert str(parse_strategy(text, "k")) == text


@pytest.mark.parametrize("text", ["first", "first:-1", "random:x", "%", "half", "first:3.5", ""])
def test_bad_strategies_name_the_key(text):
    with pytest.raises(RecipeError, match=r"^f.yaml: sources\[2\].sample: bad sampling strategy"):
        parse_strategy(text, "f.yaml: sources[2].sample")


def test_select_rows_counts_and_order():
    assert select_rows(Strategy("all"), 5, rng(), "k") == [0, 1, 2, 3, 4]
    assert select_rows(Strategy("first", 3), 5, rng(), "k") == [0, 1, 2]
    picked = select_rows(Strategy("random", 3), 10, rng(7), "k")
    assert len(set(picked)) == 3 and picked == select_rows(Strategy("random", 3), 10, rng(7), "k")
    assert picked != select_rows(Strategy("random", 3), 10, rng(8), "k")
    assert len(select_rows(Strategy("percent", 50), 10, rng(), "k")) == 5


def test_percentages_above_100_upsample_every_record_evenly():
    rows = select_rows(Strategy("percent", 250), 4, rng(), "k")
    assert len(rows) == 10
    assert sorted(Counter(rows).values()) == [2, 2, 3, 3]  # two full passes + 2 distinct extra records


@pytest.mark.parametrize("strategy", [Strategy("first", 6), Strategy("random", 6)])
def test_asking_for_more_records_than_a_source_has_is_an_error(strategy):
    with pytest.raises(RecipeError, match=r"src: .*6 asks for more records than the source has \(5\)"):
        select_rows(strategy, 5, rng(), "src")


def test_weighted_counts_follow_size_to_the_power_one_over_temperature():
    assert weighted_counts([900, 100], [1, 1], 1.0) == [900, 100]  # T=1: natural sizes
    assert weighted_counts([900, 100], [1, 1], 2.0) == [750, 250]  # sqrt: 30:10 of a pool of 1000
    assert weighted_counts([900, 100], [1, 3], 1.0) == [750, 250]  # weight 3 triples the small source
    flat = weighted_counts([900, 100], [1, 1], 1000.0)
    assert abs(flat[0] - flat[1]) <= 2 and sum(flat) == 1000


def test_weighted_counts_always_add_up_to_the_pool():
    sizes = [7, 4, 5, 8, 3]
    for temperature in (0.5, 1.0, 2.0, 3.0):
        counts = weighted_counts(sizes, [1.0] * 5, temperature)
        assert sum(counts) == sum(sizes) and all(c >= 0 for c in counts)
    assert weighted_counts([0, 10], [1, 1], 2.0) == [0, 10]


def test_derived_seeds_differ_by_label_and_seed():
    assert derive_seed(0, "source/a") == derive_seed(0, "source/a")
    assert len({derive_seed(0, "source/a"), derive_seed(0, "source/b"), derive_seed(1, "source/a")}) == 3
