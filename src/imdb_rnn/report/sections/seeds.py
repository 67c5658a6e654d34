"""Part 3: every run, the spread between seeds, and which architecture is better, answered over seeds.

Per architecture: each seed's test accuracy with the epoch whose weights were tested, the mean
with its sample standard deviation and 95 % Student-t interval over the seeds. Per pair of
architectures (:func:`imdb_rnn.stats.seeds.paired_over_seeds`): the per-seed differences, wins
out of n, their mean with a 95 % interval over the seeds, and the verdict that needs both; the
closing sentence says which orderings the seeds settle and which they do not.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from imdb_rnn.report.document import Table, data
from imdb_rnn.report.fmt import interval_text, join_and, percent, points
from imdb_rnn.report.inputs import ReportData
from imdb_rnn.stats.seeds import SeedComparison, paired_over_seeds, sampling_sd, t_interval

TITLE = "Seeds and uncertainty"
LEVEL = 3
RESOURCES = ("seeds.j2",)  # its template, read at run time (pipeline.codedeps)
Z95 = 1.959963984540054


def accuracies(d: ReportData, arch: str) -> dict[int, float]:
    """Test accuracy per seed, from each run's predictions (the files the report also pairs)."""
    return {seed: float(run.predictions.accuracy) for seed, run in d.runs[arch].items()}


def _runs_table(d: ReportData) -> Table:
    rows = []
    for arch in d.archs:
        acc = accuracies(d, arch)
        values = list(acc.values())
        per_seed = ", ".join(f"{percent(a)} ({d.runs[arch][s].metrics['best_epoch']})" for s, a in acc.items())
        spread = f"{percent(float(np.mean(values)))} ± {percent(float(np.std(values, ddof=1)))}" if len(values) > 1 else percent(values[0])
        rows.append([data(d.title(arch)), data(per_seed), data(spread), data(interval_text(t_interval(values)))])
    seeds = ", ".join(map(str, d.params.train.all_seeds))
    return Table(
        ["Model", f"per seed ({seeds}), epoch tested", "mean ± SD", "95 % interval over seeds"],
        rows,
        "lXrr",
        "Test accuracy (%) of every run; mean, sample standard deviation and Student-t interval over the seeds.",
    )


def _verdict(c: SeedComparison, a: str, b: str) -> str:
    return {"a": f"{a} better", "b": f"{b} better", "unsettled": "not settled", "one seed": "one seed: none"}[c.verdict]


def comparisons(d: ReportData) -> list[tuple[str, str, SeedComparison]]:
    """(A, B, A − B over seeds) for every pair of architectures, in params' order."""
    out = []
    for a, b in combinations(d.archs, 2):
        c = paired_over_seeds(accuracies(d, a), accuracies(d, b))
        if c is not None:
            out.append((a, b, c))
    return out


def _pairs_table(d: ReportData, pairs: list[tuple[str, str, SeedComparison]]) -> Table:
    rows = []
    for a, b, c in pairs:
        interval = f" [{points(c.interval[0])}, {points(c.interval[1])}]" if c.interval else ""
        rows.append(
            [
                data(f"{d.title(a)} − {d.title(b)}"),
                data(", ".join(points(x) for x in c.differences)),
                data(f"{c.wins}/{c.n}"),
                data(f"{points(c.mean)}{interval}"),
                data(_verdict(c, d.title(a), d.title(b))),
            ]
        )
    return Table(
        ["A − B", "per seed (points)", "A wins", "mean, 95 % interval over seeds", "verdict"],
        rows,
        "XXrrX",
        "Is A better than B? The difference of test accuracy on each seed both ran, how many seeds A wins, and the mean "
        "difference with its Student-t interval over the seeds. *Better* needs both: every seed, and an interval clear of 0.",
        size="footnotesize",
    )


def _groups_that_cannot_be_ordered(archs: list[str], unsettled: set[frozenset[str]]) -> list[list[str]]:
    """Sets of two or more architectures every pair of which the seeds leave unsettled (largest first)."""
    groups: list[list[str]] = []
    for size in range(len(archs), 1, -1):
        for group in combinations(archs, size):
            if all(frozenset(pair) in unsettled for pair in combinations(group, 2)) and not any(set(group) <= set(g) for g in groups):
                groups.append(list(group))
    return groups


def _orderings(d: ReportData, pairs: list[tuple[str, str, SeedComparison]]) -> tuple[dict[str, list[str]], set[frozenset[str]]]:
    """Which architecture the seeds settle as better than which (titles of the beaten), and the unsettled pairs."""
    better: dict[str, list[str]] = {}
    for a, b, c in pairs:
        if c.verdict in ("a", "b"):
            winner, loser = (a, b) if c.verdict == "a" else (b, a)
            better.setdefault(winner, []).append(d.title(loser))
    return better, {frozenset((a, b)) for a, b, c in pairs if c.verdict == "unsettled"}


def settled_sentence(d: ReportData, pairs: list[tuple[str, str, SeedComparison]]) -> str:
    """What the seeds settle and what they do not, in one or two sentences."""
    n = max((c.n for _, _, c in pairs), default=0)
    if n < 2:
        return "With one seed per model no ordering can be settled: the spread between training runs is not measured."
    better, unsettled = _orderings(d, pairs)
    parts = []
    if better:
        said = "; ".join(f"the {d.title(w)} is better than the {join_and(losers)}" for w, losers in better.items())
        parts.append(f"These {n} seeds settle that {said} (on every seed, with an interval clear of 0)")
        # the intervals are not corrected for the number of comparisons: say whether a verdict
        # stands without them (every run of the winner above every run of the models it beats)
        apart = []
        for w in better:
            beaten = [a for a, b, c in pairs if (b == w and c.verdict == "b")] + [b for a, b, c in pairs if (a == w and c.verdict == "a")]
            low = min(accuracies(d, w).values())
            high = max(max(accuracies(d, x).values()) for x in beaten)
            if low > high:
                apart.append(
                    f"the {d.title(w)}'s lowest run ({percent(low)} %) is above every run of the "
                    f"{join_and([d.title(x) for x in beaten])} (highest {percent(high)} %)"
                )
        if apart:
            parts[-1] += f"; the intervals are not corrected for the {len(pairs)} comparisons, but this verdict does not rest on them: " + "; ".join(
                apart
            )
    groups = _groups_that_cannot_be_ordered(d.archs, unsettled)
    if groups:
        texts = []
        for group in groups:
            names = join_and([d.title(a) for a in group])
            texts.append(f"cannot tell the {names} apart" if len(group) == 2 else f"cannot order the {names}")
        parts.append(f"they {' and '.join(texts)}: in each of those pairs the sign changes between seeds or the interval includes 0")
    return "; ".join(parts) + "." if parts else "."


def settled_summary(d: ReportData, pairs: list[tuple[str, str, SeedComparison]]) -> str:
    """The orderings the seeds settle, in a few words (the discussion's bullet; Section 3.1 has the argument)."""
    n = max((c.n for _, _, c in pairs), default=0)
    if n < 2:
        return "one seed per model settles no ordering."
    better, unsettled = _orderings(d, pairs)
    every = "both seeds" if n == 2 else f"all {n} seeds"
    parts = [f"the {d.title(w)} beats the {join_and(losers)} on {every}" for w, losers in better.items()]
    for group in _groups_that_cannot_be_ordered(d.archs, unsettled):
        parts.append(f"the {join_and([d.title(a) for a in group])} are not ordered by {n} seeds")
    return "; ".join(parts) + "." if parts else "."


def spread_text(d: ReportData) -> dict[str, Any]:
    """The seed spread against one run's test-sampling error, per architecture."""
    reviews = d.analysis["reviews"]
    rows = []
    for arch in d.archs:
        values = list(accuracies(d, arch).values())
        test_sd = sampling_sd(float(np.mean(values)), reviews)
        seed_sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
        rows.append({"title": d.title(arch), "ratio": seed_sd / test_sd if seed_sd is not None and test_sd else None})
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    test_sds = [sampling_sd(float(np.mean(list(accuracies(d, a).values()))), reviews) for a in d.archs]
    low, high = f"{100 * Z95 * min(test_sds):.2f}", f"{100 * Z95 * max(test_sds):.2f}"
    return {
        "reviews": f"{reviews:,}",
        # the half-width depends on the accuracy: narrowest for the best model, widest near 50 %
        "test_half": f"±{low}" if low == high else f"±{low} to ±{high}",
        "ratio_low": f"{min(ratios):.1f}" if ratios else None,
        "ratio_high": f"{max(ratios):.1f}" if ratios else None,
    }


def _ranges(d: ReportData) -> dict[str, Any] | None:
    """The widest and the narrowest spread of test accuracy over seeds (lowest to highest run)."""
    spans = {arch: (min(acc.values()), max(acc.values())) for arch in d.archs if len(acc := accuracies(d, arch)) > 1}
    if not spans:
        return None
    widest = max(spans, key=lambda a: spans[a][1] - spans[a][0])
    narrowest = min(spans, key=lambda a: spans[a][1] - spans[a][0])

    def text(arch: str) -> dict[str, str]:
        low, high = spans[arch]
        return {"title": d.title(arch), "low": percent(low), "high": percent(high), "width": f"{100 * (high - low):.2f}"}

    return {"widest": text(widest), "narrowest": text(narrowest) if narrowest != widest else None}


def context(d: ReportData) -> dict[str, Any]:
    pairs = comparisons(d)
    return {
        "tables": {"runs": _runs_table(d), "pairs": _pairs_table(d, pairs)} if pairs else {"runs": _runs_table(d)},
        "spread": spread_text(d),
        "ranges": _ranges(d),
        "settled": settled_sentence(d, pairs),
        "has_pairs": bool(pairs),
        "n": max(len(by_seed) for by_seed in d.runs.values()),
    }
