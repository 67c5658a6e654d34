"""The report's statistics, each against a case worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imdb_rnn.stats.analysis import accuracy_by_length, length_edges, mcnemar, paired_bootstrap, t_interval, wilson_interval


def test_wilson_interval_of_8_in_10():
    # (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n) with p = 0.8, n = 10, z = 1.96
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=5e-5) and high == pytest.approx(0.9433, abs=5e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_on_the_full_test_set_is_about_half_a_point():
    low, high = wilson_interval(22_000, 25_000)
    assert (high - low) / 2 == pytest.approx(0.0040, abs=2e-4)


def test_t_interval_of_one_two_three():
    # mean 2, sd 1, t(0.975, 2 df) = 4.302653
    low, high = t_interval([1.0, 2.0, 3.0])
    assert low == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-6) and high == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-6)
    assert t_interval([0.5]) is None


def test_mcnemar_counts_the_discordant_reviews_and_gives_the_exact_p():
    a = np.array([True] * 9 + [False] + [True] * 5 + [False] * 5)
    b = np.array([False] * 9 + [True] + [True] * 5 + [False] * 5)
    only_a, only_b, p = mcnemar(a, b)
    assert (only_a, only_b) == (9, 1)
    assert p == pytest.approx(2 * 11 / 1024)  # 2 · P(X ≤ 1), X ~ Binomial(10, 1/2)
    assert mcnemar(a, a) == (0, 0, 1.0)


def test_paired_bootstrap_of_identical_runs_is_zero_and_covers_a_known_difference():
    rng = np.random.default_rng(0)
    a = rng.random((3, 5000)) < 0.8
    assert paired_bootstrap(a, a, resamples=200) == (0.0, 0.0)
    b = a.copy()
    b[:, :500] = False  # B loses exactly the reviews A got right among the first 500
    true = float(a.mean() - b.mean())
    low, high = paired_bootstrap(a, b, resamples=500)
    assert 0 < low < true < high


def test_accuracy_by_length_bins_at_the_quartiles():
    tokens = np.array([10, 20, 30, 40, 50, 60, 70, 80])
    edges = length_edges(tokens, bins=4)
    assert edges == [9, 20, 40, 60, 80]
    correct = np.array([1, 1, 0, 1, 0, 0, 1, 1], dtype=bool)
    assert accuracy_by_length(tokens, correct, edges) == [1.0, 0.5, 0.0, 1.0]


def test_tied_lengths_merge_bins_instead_of_leaving_them_empty():
    tokens = np.array([5, 10, 10, 10, 10, 10, 10, 20])
    edges = length_edges(tokens, bins=4)
    assert edges == [4, 10, 20]
    assert accuracy_by_length(tokens, np.ones(8, dtype=bool), edges) == [1.0, 1.0]
    assert length_edges(np.array([7, 7, 7])) == [6, 7]
