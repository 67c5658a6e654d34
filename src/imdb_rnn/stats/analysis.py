"""What the runs' numbers mean: intervals, paired tests and accuracy by review length.

    from imdb_rnn.stats.analysis import load_runs, analyse
    runs = load_runs("results/runs", ["bilstm2", "rnn1"], [1234, 1, 2])
    result = analyse(runs)        # plain numbers; imdb_rnn.report.build formats them

Every statistic is recomputed from the files each training run wrote (``metrics.json``,
``history.csv``, ``predictions.csv.gz``: see :mod:`imdb_rnn.records`):

- a run's test accuracy with a 95 % Wilson score interval over its test reviews;
- the mean over seeds with a 95 % Student-t interval (seed-to-seed spread; needs n ≥ 2);
- for every pair of architectures, on the same test reviews: McNemar's exact test per seed
  (reviews one run gets right and the other wrong), and a paired bootstrap over the reviews
  of the seed-mean accuracy difference (:data:`BOOTSTRAP_RESAMPLES`, fixed seed);
- accuracy by review length: test reviews cut into :data:`LENGTH_BINS` bins at the length
  quantiles, each architecture's accuracy per bin averaged over seeds.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from imdb_rnn.errors import UserError
from imdb_rnn.fileio import read_json
from imdb_rnn.records import HISTORY, METRICS, PREDICTIONS, Predictions, read_predictions, run_dir

LN2 = math.log(2)  # the binary cross-entropy of a constant guess: chance
Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261126
LENGTH_BINS = 4


@dataclass(frozen=True)
class Run:
    """One training run's files, read once."""

    arch: str
    seed: int
    metrics: dict[str, Any]
    history: dict[str, list[float]]
    predictions: Predictions


def read_history_csv(path: Path) -> dict[str, list[float]]:
    """Every numeric column of a run's ``history.csv``."""
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except FileNotFoundError:
        raise UserError(f"missing {path}; rerun stage `train` for that run") from None
    if not rows:
        raise UserError(f"{path} has no rows; rerun stage `train` for that run")
    try:
        return {column: [float(row[column]) for row in rows] for column in rows[0]}
    except (TypeError, ValueError):  # a row cut short reads None, a damaged one text
        raise UserError(f"{path} has a damaged row (a value is missing or not a number); rerun stage `train` for that run") from None


def load_runs(runs: str | os.PathLike[str], archs: list[str], seeds: list[int]) -> dict[str, dict[int, Run]]:
    """Every (architecture, seed) run's metrics, history and predictions, checked to agree."""
    loaded: dict[str, dict[int, Run]] = {}
    for arch in archs:
        loaded[arch] = {}
        for seed in seeds:
            folder = run_dir(runs, arch, seed)
            if not (folder / METRICS).is_file():
                raise UserError(f"missing {folder / METRICS}; run stage `train` for {arch} seed {seed}")
            metrics = read_json(folder / METRICS)
            predictions = read_predictions(folder / PREDICTIONS)
            if predictions.accuracy != metrics["test_acc"]:
                raise UserError(
                    f"{folder / PREDICTIONS} gives test accuracy {predictions.accuracy} but {folder / METRICS} says "
                    f"{metrics['test_acc']}; the files are from different runs: rerun stage `train` for {arch} seed {seed}"
                )
            loaded[arch][seed] = Run(arch, seed, metrics, read_history_csv(folder / HISTORY), predictions)
    reference = next(iter(next(iter(loaded.values())).values())).predictions.review
    for arch, by_seed in loaded.items():
        for seed, run in by_seed.items():
            if run.predictions.review != reference:
                raise UserError(f"{arch} seed {seed} was tested on other reviews than the first run; rerun its `train` stage")
    return loaded


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``correct / n`` (0, 1 for n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def t_interval(values: list[float], level: float = 0.95) -> tuple[float, float] | None:
    """The Student-t interval of the mean of ``values``; None for fewer than two values."""
    if len(values) < 2:
        return None
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1)) * float(np.std(values, ddof=1)) / math.sqrt(len(values))
    return mean - half, mean + half


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """McNemar's exact test: (reviews only A gets right, only B gets right, two-sided p)."""
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    if only_a + only_b == 0:
        return 0, 0, 1.0
    return only_a, only_b, float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def paired_bootstrap(
    correct_a: np.ndarray, correct_b: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95 % percentile interval of mean_seeds(acc A) − mean_seeds(acc B), resampling test reviews.

    ``correct_a`` and ``correct_b`` are [seeds, reviews] booleans on the same reviews; each
    resample draws reviews with replacement and keeps every seed's answer on them (paired).
    """
    per_review = correct_a.astype(np.float64).mean(axis=0) - correct_b.astype(np.float64).mean(axis=0)
    rng = np.random.default_rng(seed)
    n = per_review.shape[0]
    means = np.empty(resamples)
    for i in range(resamples):
        means[i] = per_review[rng.integers(0, n, n)].mean()
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def length_edges(tokens: np.ndarray, bins: int = LENGTH_BINS) -> list[int]:
    """Bin edges at the length quantiles: bin k holds lengths in (edges[k], edges[k+1]].

    Edges that tied lengths make equal are merged, so no bin is empty: with many reviews of one
    length there can be fewer than ``bins`` bins.
    """
    inner = [int(np.quantile(tokens, k / bins, method="lower")) for k in range(1, bins)]
    edges = sorted({int(tokens.min()) - 1, *inner, int(tokens.max())})
    return edges if len(edges) > 1 else [edges[0] - 1, edges[0]]


def length_bin_labels(edges: list[int]) -> list[str]:
    """``["8–129", "130–200", …]``: the token counts each bin of :func:`length_edges` holds."""
    return [f"{low + 1}–{high}" for low, high in zip(edges[:-1], edges[1:], strict=True)]


def accuracy_by_length(tokens: np.ndarray, correct: np.ndarray, edges: list[int]) -> list[float]:
    """Accuracy within each length bin ((edges[k], edges[k+1]]); NaN for an empty bin."""
    out = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (tokens > low) & (tokens <= high)
        out.append(float(correct[inside].mean()) if inside.any() else math.nan)
    return out


def analyse(runs: dict[str, dict[int, Run]]) -> dict[str, Any]:
    """The numbers the report's Part 1 prints beyond Table 1 (fractions, not percent)."""
    archs = list(runs)
    first = next(iter(runs[archs[0]].values())).predictions
    n_reviews = len(first)
    per_arch: dict[str, Any] = {}
    correct: dict[str, np.ndarray] = {}
    edges = length_edges(first.tokens)
    for arch in archs:
        seeds = list(runs[arch])
        correct[arch] = np.stack([runs[arch][s].predictions.correct for s in seeds])
        accuracies = [float(c.mean()) for c in correct[arch]]
        per_arch[arch] = {
            "seeds": seeds,
            "runs": [
                {
                    "seed": s,
                    "test_acc": accuracies[i],
                    "interval": wilson_interval(int(correct[arch][i].sum()), n_reviews),
                    "best_epoch": runs[arch][s].metrics["best_epoch"],
                    "epochs": runs[arch][s].metrics["epochs"],
                }
                for i, s in enumerate(seeds)
            ],
            "mean": float(np.mean(accuracies)),
            "mean_interval": t_interval(accuracies),
            "by_length": [float(np.mean(v)) for v in zip(*(accuracy_by_length(first.tokens, c, edges) for c in correct[arch]), strict=True)],
        }
    pairs = []
    for a, b in combinations(archs, 2):
        shared = [s for s in runs[a] if s in runs[b]]
        ca = np.stack([runs[a][s].predictions.correct for s in shared])
        cb = np.stack([runs[b][s].predictions.correct for s in shared])
        tests = [dict(zip(("only_a", "only_b", "p"), mcnemar(ca[i], cb[i]), strict=True), seed=s) for i, s in enumerate(shared)]
        low, high = paired_bootstrap(ca, cb)
        pairs.append(
            {
                "a": a,
                "b": b,
                "difference": float(ca.mean() - cb.mean()),
                "interval": (low, high),
                "mcnemar": tests,
                "real": low > 0 or high < 0,
            }
        )
    return {"reviews": n_reviews, "archs": per_arch, "pairs": pairs, "length_edges": edges}
