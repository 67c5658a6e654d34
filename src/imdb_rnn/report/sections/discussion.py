"""Part 3: the discussion — what the numbers of the sections before it settle, and what they do not.

Each point is computed from the same files as the section it draws on: the parameter counts and
accuracies against the original's (Table 1), the orderings the seeds settle
(:mod:`~imdb_rnn.report.sections.seeds`), the experiments on the gap to the original
(:mod:`~imdb_rnn.report.sections.gap`), and any comparable experiment that changes only the
embedding's start; then the limits of what was measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imdb_rnn.report.fmt import join_and, percent, points
from imdb_rnn.report.inputs import ReportData
from imdb_rnn.report.sections import gap, seeds
from imdb_rnn.stats.experiments import comparison

TITLE = "Discussion"
LEVEL = 3
RESOURCES = ("discussion.j2",)  # its template, read at run time (pipeline.codedeps)


def _against_original(d: ReportData) -> list[dict[str, Any]]:
    out = []
    for arch in d.archs:
        original = d.original.get(arch)
        values = list(seeds.accuracies(d, arch).values())
        entry = {"title": d.title(arch), "mean": percent(float(np.mean(values))), "original": None, "n": len(values)}
        if original:
            reference = original["test_acc_percent"] / 100
            entry |= {"original": f"{original['test_acc_percent']:.2f}", "above": sum(v > reference for v in values)}
        out.append(entry)
    return out


def _embedding(d: ReportData) -> list[dict[str, Any]]:
    """Comparable experiments that change only the embedding's start: their per-architecture verdicts."""
    baseline = {arch: seeds.accuracies(d, arch) for arch in d.archs}
    out = []
    for e in d.experiments:
        result = comparison(e, d.params.model_dump(mode="json"), d.data_stats, baseline)
        if not result.comparable or [key for key, _, _ in result.changes] != ["embedding.init"]:
            continue
        _, before, after = result.changes[0]
        rows = [
            {
                "title": d.title(r["arch"]),
                "mean": points(-r["paired"].mean),
                "wins": r["paired"].losses,
                "n": r["paired"].n,
                "settled": r["paired"].verdict == "b",
            }
            for r in result.rows
            if r["paired"] is not None
        ]
        out.append({"name": e.name, "before": before, "after": after, "rows": rows})
    return out


def context(d: ReportData) -> dict[str, Any]:
    pairs = seeds.comparisons(d)
    counts_equal = [a for a in d.archs if a in d.original and d.original[a]["rnn_params"] == d.metrics[a]["rnn_params"]]
    gap_context = gap.context(d)
    return {
        "counts_equal": len(counts_equal),
        "counts_known": sum(a in d.original for a in d.archs),
        "against": _against_original(d),
        "n": max(len(by_seed) for by_seed in d.runs.values()),
        "settled": seeds.settled_summary(d, pairs) if pairs else None,
        "gap": gap_context,
        "embedding": _embedding(d),
        "prefix": next(iter(d.diagnostics.values()))["length"],
        "diagnosed_seed": join_and(sorted({str(doc["training_seed"]) for doc in d.diagnostics.values()})),
        "family_count": len({d.family(a) for a in d.archs}),
        "families": join_and(sorted({d.family(a) for a in d.archs})),
    }
