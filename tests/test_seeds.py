"""Inference over seeds: per-seed differences, wins, the t interval and the verdict that needs both."""

from __future__ import annotations

import math

import pytest

from imdb_rnn.stats.seeds import paired_over_seeds, sampling_sd, t_interval


def test_a_model_better_on_every_seed_with_an_interval_clear_of_zero_wins():
    # the published 2-level bi-LSTM against the 2-level bi-RNN (test accuracy per seed 1234, 1, 2)
    c = paired_over_seeds({1234: 0.8744, 1: 0.88796, 2: 0.87764}, {1234: 0.70576, 1: 0.77556, 2: 0.68304})
    assert c.seeds == (1234, 1, 2) and c.n == 3 and c.wins == 3 and c.losses == 0
    assert c.differences == pytest.approx((0.16864, 0.1124, 0.1946))
    assert c.mean == pytest.approx(0.15854667)
    # t(2) 97.5 % = 4.302653; sd of the differences = 0.0420192 (by hand)
    half = 4.302653 * 0.0420192 / math.sqrt(3)
    assert c.interval == pytest.approx((0.15854667 - half, 0.15854667 + half), abs=1e-6)
    assert c.verdict == "a"


def test_signs_that_change_between_seeds_leave_the_order_unsettled():
    # the published 2-level bi-RNN against the RNN: -0.60, +17.60, -4.33 points
    c = paired_over_seeds({1234: 0.70576, 1: 0.77556, 2: 0.68304}, {1234: 0.7118, 1: 0.5996, 2: 0.72636})
    assert c.differences == pytest.approx((-0.00604, 0.17596, -0.04332))
    assert (c.wins, c.losses) == (1, 2)
    assert c.interval[0] < 0 < c.interval[1] and c.verdict == "unsettled"


def test_every_seed_one_way_but_an_interval_across_zero_is_still_unsettled():
    # wins on all three seeds, but the spread of the differences is too wide for three seeds
    c = paired_over_seeds({1: 0.60, 2: 0.61, 3: 0.90}, {1: 0.59, 2: 0.60, 3: 0.50})
    assert c.wins == 3 and c.interval[0] < 0 and c.verdict == "unsettled"


def test_b_better_and_one_seed_and_no_shared_seed():
    assert paired_over_seeds({1: 0.5, 2: 0.52}, {1: 0.6, 2: 0.61}).verdict == "b"
    one = paired_over_seeds({1: 0.5, 2: 0.7}, {1: 0.6, 3: 0.6})
    assert one.seeds == (1,) and one.interval is None and one.verdict == "one seed"
    assert paired_over_seeds({1: 0.5}, {2: 0.5}) is None


def test_t_interval_and_test_sampling_sd():
    assert t_interval([0.5]) is None
    low, high = t_interval([0.1, 0.2, 0.3])
    assert (low + high) / 2 == pytest.approx(0.2) and high - low == pytest.approx(2 * 4.302653 * 0.1 / math.sqrt(3), rel=1e-6)
    assert sampling_sd(0.72, 25000) == pytest.approx(0.0028397, rel=1e-4)
