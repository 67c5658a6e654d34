"""Part 3: test accuracy by review length, and whether long reviews cost some models more, over seeds.

The test reviews are cut at the quartiles of their token counts (:func:`imdb_rnn.stats.analysis.length_edges`).
Per architecture: the accuracy in each quartile (mean over seeds) and the drop from the shortest
quartile to the longest, per seed, with its mean and 95 % interval over the seeds. Then each
architecture's drop beside the first architecture's, paired by seed
(:func:`imdb_rnn.stats.seeds.paired_over_seeds`), with a verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure as MplFigure

from imdb_rnn.report.document import Figure, FigureSpec, Table, data
from imdb_rnn.report.figures import FIGURE_RC, colour, save_figure
from imdb_rnn.report.fmt import interval_text, join_and, percent, points
from imdb_rnn.report.inputs import ReportData
from imdb_rnn.report.sections.curves import families
from imdb_rnn.stats.analysis import accuracy_by_length, length_bin_labels
from imdb_rnn.stats.seeds import paired_over_seeds, t_interval

TITLE = "Accuracy by review length"
LEVEL = 3
RESOURCES = ("length.j2",)  # its template, read at run time (pipeline.codedeps)
FIGURES = (
    FigureSpec("accuracy_by_length", "Test accuracy by review length (quartiles of the test reviews), mean over the seeds, per architecture."),
)


def drops(d: ReportData, arch: str) -> dict[int, float]:
    """Per seed: accuracy on the shortest quartile minus accuracy on the longest."""
    edges = d.analysis["length_edges"]
    out = {}
    for seed, run in d.runs[arch].items():
        by_bin = accuracy_by_length(run.predictions.tokens, run.predictions.correct, edges)
        out[seed] = by_bin[0] - by_bin[-1]
    return out


def context(d: ReportData) -> dict[str, Any] | None:
    labels = length_bin_labels(d.analysis["length_edges"])
    if len(labels) < 2:
        return None  # every test review has one length: nothing to compare
    rows = []
    for arch in d.archs:
        drop = list(drops(d, arch).values())
        mean = sum(drop) / len(drop)
        interval = t_interval(drop)
        rows.append(
            [data(d.title(arch)), *(data(percent(v)) for v in d.analysis["archs"][arch]["by_length"])]
            + [data(points(mean) + (f" [{points(interval[0])}, {points(interval[1])}]" if interval else ""))]
        )
    reference = d.archs[0]
    beside = []
    for arch in d.archs[1:]:
        c = paired_over_seeds(drops(d, arch), drops(d, reference))
        if c is not None:
            beside.append(
                {
                    "title": d.title(arch),
                    "wins": c.wins,
                    "n": c.n,
                    "mean": points(c.mean),
                    "interval": f"[{points(c.interval[0])}, {points(c.interval[1])}]" if c.interval else None,
                    "verdict": c.verdict,
                }
            )
    n = max(len(by_seed) for by_seed in d.runs.values())
    falls = [arch for arch in d.archs if (i := t_interval(list(drops(d, arch).values()))) is not None and i[0] > 0]
    table = Table(
        ["Model", *(f"{label}\ntokens" for label in labels), "drop, shortest to longest\n(points, 95 % interval)"],
        rows,
        "l" + "r" * len(labels) + "r",
        "Test accuracy (%) per length quartile, mean over the seeds, and the drop from the shortest quartile to the longest "
        "with its 95 % interval over the seeds.",
        size="footnotesize",
    )
    # does the drop follow the gradient decay of the gradient-flow section? per family, in decay order
    decay = []
    for name, archs in families(d).items():
        measured = [a for a in archs if a in d.diagnostics]
        if len(measured) < 2:
            continue
        by_ratio = sorted(measured, key=lambda a: d.diagnostics[a]["trained"]["last_over_middle"])
        mean_drop = {a: sum(drops(d, a).values()) / len(d.runs[a]) for a in measured}
        rises = all(mean_drop[x] < mean_drop[y] for x, y in zip(by_ratio, by_ratio[1:], strict=False))
        decay.append(
            {
                "name": name,
                "runs": join_and([f"{d.title(a)} {points(mean_drop[a])}" for a in by_ratio]),
                "rises": rises,
            }
        )
    return {
        "decay": decay,
        "first_bin": labels[0],
        "last_bin": labels[-1],
        "reference": d.title(reference),
        "beside": beside,
        "n": n,
        "falls": len(falls),
        "n_archs": len(d.archs),
        "interval": interval_text,
        "tables": {"length": table},
        "figures": {
            "accuracy_by_length": Figure(
                "accuracy_by_length", "Test accuracy by review length (quartiles of the test reviews' token counts), mean over the seeds."
            )
        },
    }


def draw(d: ReportData, name: str, targets: Iterable[Path]) -> None:
    """Test accuracy per review-length bin, per architecture (mean over seeds)."""
    bins = length_bin_labels(d.analysis["length_edges"])
    with matplotlib.rc_context(FIGURE_RC):
        fig = MplFigure(figsize=(6.3, 2.8), layout="constrained")
        ax = fig.subplots()
        for i, arch in enumerate(d.archs):
            values = [100 * v for v in d.analysis["archs"][arch]["by_length"]]
            ax.plot(range(len(bins)), values, "-o", color=colour(i), markersize=3, label=d.title(arch).replace("$", r"\$"))
        ax.axhline(50, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xticks(range(len(bins)), [f"{b}\ntokens" for b in bins])
        ax.set(xlabel="review length (quartiles of the test reviews)", ylabel="test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", frameon=False)
        save_figure(fig, targets)
