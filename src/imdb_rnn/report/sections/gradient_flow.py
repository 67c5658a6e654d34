"""Part 3: how far back the gradient reaches in each trained model (stage ``diagnose``), and its scope.

For the primary seed's checkpoint of each architecture (``results/diagnostics/<arch>.json``):
the mean norm of d loss / d embedding at each position of the first ``length`` tokens of a
sample of validation reviews, trained and at initialisation; the ratios of the last positions
to the middle and to the first ones. Per family with two or more architectures, whether the
measured runs' test accuracy follows the ratio: said as it is, for one seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D

from imdb_rnn.report.document import Figure, FigureSpec, Table, data
from imdb_rnn.report.figures import FIGURE_RC, colour, save_figure
from imdb_rnn.report.fmt import join_and, percent, sci
from imdb_rnn.report.inputs import ReportData
from imdb_rnn.report.sections.curves import families
from imdb_rnn.report.sections.seeds import accuracies

SHOWN = (("trained", "last_over_middle"), ("trained", "last_over_first"), ("initial", "last_over_middle"))
TITLE = "Gradient flow"
LEVEL = 3
RESOURCES = ("gradient_flow.j2",)  # its template, read at run time (pipeline.codedeps)
FIGURES = (
    FigureSpec(
        "gradient_flow",
        "Mean gradient norm of the loss with respect to the embedding at each review position (log scale), trained and at initialisation.",
    ),
)


def _measured_run(d: ReportData, arch: str) -> tuple[int, float]:
    seed = int(d.diagnostics[arch]["training_seed"])
    return seed, float(d.runs[arch][seed].predictions.accuracy)


def _family_verdicts(d: ReportData) -> list[dict[str, Any]]:
    """Per family of two or more: do the measured runs' accuracies fall as the decay grows?"""
    out = []
    for name, archs in families(d).items():
        if len(archs) < 2:
            continue
        ratio = {a: d.diagnostics[a]["trained"]["last_over_middle"] for a in archs}
        accuracy = {a: _measured_run(d, a)[1] for a in archs}
        by_ratio = sorted(archs, key=lambda a: ratio[a])
        by_accuracy = sorted(archs, key=lambda a: -accuracy[a])
        least = by_ratio[0]
        # can one checkpoint per model test the link? Only if the measured runs differ by more than
        # a model's runs differ between seeds
        span = max(accuracy.values()) - min(accuracy.values())
        seed_sds = {a: float(np.std(list(accuracies(d, a).values()), ddof=1)) for a in archs if len(d.runs[a]) > 1}
        widest = max(seed_sds, key=lambda a: seed_sds[a]) if seed_sds else None
        out.append(
            {
                "name": name,
                "runs": join_and([f"{d.title(a)} {sci(ratio[a])} ({percent(accuracy[a])} %)" for a in by_ratio]),
                "follows": by_ratio == by_accuracy,
                "least": d.title(least),
                "least_is_best": by_accuracy[0] == least,
                "span": f"{100 * span:.2f}",
                "seed_sd": f"{100 * seed_sds[widest]:.2f}" if widest else None,
                "seed_sd_title": d.title(widest) if widest else None,
                "untestable": widest is not None and span < seed_sds[widest],
            }
        )
    return out


def context(d: ReportData) -> dict[str, Any]:
    first = d.diagnostics[d.archs[0]]
    rows = []
    for arch in d.archs:
        doc = d.diagnostics[arch]
        seed, accuracy = _measured_run(d, arch)
        rows.append(
            [
                data(d.title(arch)),
                data(sci(doc["trained"]["last_over_middle"])),
                data(sci(doc["trained"]["last_over_first"])),
                data(sci(doc["initial"]["last_over_middle"])),
                data(f"{percent(accuracy)} (seed {seed})"),
            ]
        )
    # the ratios the table shows
    ratios = [doc[state][key] for doc in d.diagnostics.values() for state, key in SHOWN]
    seeds = sorted({int(doc["training_seed"]) for doc in d.diagnostics.values()})
    table = Table(
        ["Model", "last / middle", "last / first", "last / middle\nat initialisation", "test accuracy of the\nmeasured run (%)"],
        rows,
        "lrrrr",
        "How far back the gradient reaches in each measured checkpoint: the mean gradient norm at the last positions over "
        "that at the middle and at the first ones, the same at initialisation (before training), and the measured run's "
        "test accuracy.",
    )
    return {
        "length": first["length"],
        "reviews": first["reviews"],
        "edge": first["edge"],
        "seeds": join_and([str(s) for s in seeds]),
        "n_seeds": len(d.params.train.all_seeds),
        "infinite": any(math.isinf(r) for r in ratios),
        "families": _family_verdicts(d),
        "tables": {"gradients": table},
        "figures": {
            "gradient_flow": Figure(
                "gradient_flow",
                "Mean $|\\partial L / \\partial e_t|$ by token position $t$ (log scale), trained (solid) and at initialisation (dotted).",
            )
        },
    }


def draw(d: ReportData, name: str, targets: Iterable[Path]) -> None:
    """Mean |d loss / d embedding| by position, log scale: trained solid, at initialisation dotted."""
    with matplotlib.rc_context(FIGURE_RC):
        fig = MplFigure(figsize=(6.3, 3.0), layout="constrained")
        ax = fig.subplots()
        handles = []
        for i, arch in enumerate(d.archs):
            doc = d.diagnostics[arch]
            for state, style in (("trained", "-"), ("initial", ":")):
                # Norms flushed to zero (below ~1e-38: the CPU flushes denormals) have no log.
                values = [v if v > 0 else float("nan") for v in doc[state]["profile"]]
                ax.plot(range(1, len(values) + 1), values, style, color=colour(i), linewidth=1.2)
            handles.append(Line2D([], [], color=colour(i), label=d.title(arch).replace("$", r"\$")))
        handles += [Line2D([], [], color="black", linestyle=s, label=label) for s, label in (("-", "trained"), (":", "at initialisation"))]
        ax.set_yscale("log")
        ax.set(xlabel="token position in the review", ylabel="mean |∂ loss / ∂ embedding|", title="Gradient reaching each position")
        ax.grid(alpha=0.3, which="both")
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        save_figure(fig, targets)
