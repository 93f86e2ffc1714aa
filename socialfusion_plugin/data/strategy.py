"""How many records a source contributes: a sampling strategy or a weight.

Strategies (a string): `all`, `first:N`, `random:N`, `N%` (N may exceed 100: whole copies plus a
seeded random remainder, i.e. upsampling, up to MAX_PERCENT). Weights are resolved by mixture.py
against the other weighted sources (temperature balancing)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List

import numpy as np

from .env_expand import RecipeError
from socialfusion_plugin.errors import UserInputError

STRATEGY_FORMS = "all, first:N, random:N, N%"
# 100 copies of every record: far past any useful upsampling, and the row list of a large source
# (665K records) still fits in memory. A typo such as 20000000% is an error, not an hour of swapping.
MAX_PERCENT = 10000.0
MAX_COUNT_DIGITS = 15  # first:N / random:N beyond 10^15 records is not a count of any real source
_COUNT = re.compile(r"^(first|random):(\d+)$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")


@dataclass(frozen=True)
class Strategy:
    kind: str  # all | first | random | percent
    amount: float = 0.0

    def __post_init__(self):
        if self.kind not in ("all", "first", "random", "percent"):
            raise UserInputError(f"unknown strategy kind {self.kind!r}")
        if self.amount < 0:
            raise UserInputError("strategy amount must not be negative")

    def __str__(self) -> str:
        if self.kind == "all":
            return "all"
        if self.kind == "percent":
            return f"{self.amount:g}%"
        return f"{self.kind}:{int(self.amount)}"


def parse_strategy(text, where: str) -> Strategy:
    value = str(text).strip()
    if value == "all":
        return Strategy("all")
    match = _COUNT.match(value)
    if match:
        if len(match.group(2).lstrip("0")) > MAX_COUNT_DIGITS:
            raise RecipeError(f"{where}: {match.group(1)}:N with {len(match.group(2))} digits asks for more "
                              "records than any source holds")
        return Strategy(match.group(1), float(match.group(2)))
    match = _PERCENT.match(value)
    if match:
        percent = float(match.group(1))
        if percent > MAX_PERCENT:
            raise RecipeError(f"{where}: {text!r} is above the largest sampling of {MAX_PERCENT:g}% "
                              f"({MAX_PERCENT / 100:g} copies of every record); for more weight on a source, "
                              "use 'weight' and 'temperature'")
        return Strategy("percent", percent)
    raise RecipeError(f"{where}: bad sampling strategy {text!r}; use one of: {STRATEGY_FORMS}")


def select_rows(strategy: Strategy, available: int, rng: np.random.Generator, where: str) -> List[int]:
    """Row indices (into the source) that the strategy selects, in source order for `first`/`all`,
    seeded random order otherwise."""
    if strategy.kind == "all":
        return list(range(available))
    if strategy.kind == "percent":
        return draw_count(int(round(available * strategy.amount / 100.0)), available, rng)
    wanted = int(strategy.amount)
    if wanted > available:
        hint = "; use a percentage above 100% or a weight to upsample" if strategy.kind == "random" else ""
        raise RecipeError(f"{where}: {strategy} asks for more records than the source has ({available}){hint}")
    if strategy.kind == "first":
        return list(range(wanted))
    return sorted(rng.choice(available, size=wanted, replace=False).tolist())


def draw_count(count: int, available: int, rng: np.random.Generator) -> List[int]:
    """`count` rows from `available`: whole passes over the source, then a seeded sample without
    replacement for the remainder (so upsampling repeats every record equally often, +-1)."""
    if available == 0:
        return []
    whole, remainder = divmod(count, available)
    rows = list(range(available)) * whole
    rows += sorted(rng.choice(available, size=remainder, replace=False).tolist())
    return rows
