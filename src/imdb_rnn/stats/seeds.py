"""Is A better than B? Answered over training runs, the unit of replication, not over test reviews.

    from imdb_rnn.stats.seeds import paired_over_seeds
    c = paired_over_seeds({1234: 0.874, 1: 0.888, 2: 0.878}, {1234: 0.706, 1: 0.776, 2: 0.683})
    c.differences, c.wins, c.interval, c.verdict      # per seed, wins out of n, t interval, "a"

Two runs of one recipe with different seeds differ by more than one run's test-sampling error:
on the published runs the tanh RNNs' seed standard deviation is 10–24 times it. So a
comparison pairs the runs that share a seed (the same data order and initialisation stream),
takes the per-seed differences, and asks three things of them: their signs (wins out of n),
their mean with a 95 % Student-t interval over the seeds (n − 1 degrees of freedom; it contains
the seed-to-seed variation), and a verdict that needs both: A is better only if it wins on every
seed AND the interval excludes 0. Anything else is "unsettled": that many seeds cannot order
the two. With one shared seed there is no verdict at all.

:func:`sampling_sd` is the other variance, the one a bootstrap over test reviews
measures: how much one fixed model's accuracy would move on another test set of the same size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95
VERDICTS = ("a", "b", "unsettled", "one seed")


@dataclass(frozen=True)
class SeedComparison:
    """A − B over the seeds both ran (fractions: 0.01 is one point)."""

    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    mean: float
    interval: tuple[float, float] | None  # Student-t over the per-seed differences; None for one seed
    verdict: str  # "a" (A better), "b" (B better), "unsettled", "one seed"

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def wins(self) -> int:
        """Seeds on which A did better than B."""
        return sum(d > 0 for d in self.differences)

    @property
    def losses(self) -> int:
        return sum(d < 0 for d in self.differences)


def t_interval(values: list[float] | tuple[float, ...], level: float = LEVEL) -> tuple[float, float] | None:
    """The Student-t interval of the mean of ``values`` (n − 1 degrees of freedom); None for n < 2."""
    if len(values) < 2:
        return None
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1)) * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    return mean - half, mean + half


def paired_over_seeds(a: Mapping[int, float], b: Mapping[int, float], level: float = LEVEL) -> SeedComparison | None:
    """A − B on every seed both have (in A's order); None when they share none."""
    seeds = tuple(seed for seed in a if seed in b)
    if not seeds:
        return None
    differences = tuple(float(a[s]) - float(b[s]) for s in seeds)
    interval = t_interval(differences, level)
    if interval is None:
        verdict = "one seed"
    elif interval[0] > 0 and all(d > 0 for d in differences):
        verdict = "a"
    elif interval[1] < 0 and all(d < 0 for d in differences):
        verdict = "b"
    else:
        verdict = "unsettled"
    return SeedComparison(seeds, differences, float(np.mean(differences)), interval, verdict)


def sampling_sd(accuracy: float, reviews: int) -> float:
    """The standard deviation of one fixed model's accuracy over test sets of ``reviews`` reviews
    (binomial): what an interval over test reviews alone can see."""
    return math.sqrt(accuracy * (1 - accuracy) / reviews) if reviews else math.nan
