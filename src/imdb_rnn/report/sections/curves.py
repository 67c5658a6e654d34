"""Part 3: learning curves over the seeds, and what training did per family of models.

Figure: loss and accuracy per epoch, training (solid) and validation (dashed), the mean over
seeds as a line and lowest–highest as a band. Text, per family (``models.<arch>.family``): the
last epoch's training loss over all its runs, the largest change of validation accuracy from
one epoch to the next, and how many runs were tested with an earlier epoch's weights.
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

from imdb_rnn.report.document import Figure, FigureSpec
from imdb_rnn.report.figures import FIGURE_RC, colour, save_figure
from imdb_rnn.report.fmt import join_and
from imdb_rnn.report.inputs import ReportData

TITLE = "Learning curves"
LEVEL = 3
RESOURCES = ("curves.j2",)  # its template, read at run time (pipeline.codedeps)
LN2 = math.log(2)  # the binary cross-entropy of a constant guess: chance
FIGURES = (
    FigureSpec(
        "learning_curves",
        "Loss and accuracy per epoch on the training and validation splits, every architecture, mean over the seeds.",
    ),
)


def families(d: ReportData) -> dict[str, list[str]]:
    """Architectures by their family (params' ``models.<arch>.family``), in params' order."""
    out: dict[str, list[str]] = {}
    for arch in d.archs:
        out.setdefault(d.family(arch), []).append(arch)
    return out


def _dynamics(d: ReportData, archs: list[str]) -> dict[str, Any]:
    runs = [run for arch in archs for run in d.runs[arch].values()]
    final = [run.history["train_loss"][-1] for run in runs]
    steps = [abs(b - a) for run in runs for a, b in zip(run.history["valid_acc"], run.history["valid_acc"][1:], strict=False)]
    early = sum(run.metrics["best_epoch"] < run.metrics["epochs"] for run in runs)
    return {
        "titles": join_and([d.title(a) for a in archs]),
        "plural": len(archs) > 1,
        "loss_low": f"{min(final):.3f}",
        "loss_high": f"{max(final):.3f}",
        "swing": f"{100 * max(steps):.1f}" if steps else None,
        "early": early,
        "runs": len(runs),
    }


def context(d: ReportData) -> dict[str, Any]:
    seeds = ", ".join(map(str, d.params.train.all_seeds))
    many = max(len(by_seed) for by_seed in d.runs.values()) > 1
    caption = "Loss and accuracy per epoch on the training split (solid) and the validation split (dashed), " + (
        f"mean over the seeds {seeds}, with the band from the lowest to the highest seed." if many else f"seed {seeds}."
    )
    return {
        "families": [{"name": name, **_dynamics(d, archs)} for name, archs in families(d).items()],
        "ln2": f"{LN2:.4f}",
        "last_rule": d.params.train.checkpoint == "last",
        "figures": {"learning_curves": Figure("learning_curves", caption)},
    }


def draw(d: ReportData, name: str, targets: Iterable[Path]) -> None:
    """Loss and accuracy per epoch over every seed: the mean as a line, min–max as a band."""
    titles = {a: d.title(a).replace("$", r"\$") for a in d.archs}  # a title is text, not maths
    with matplotlib.rc_context(FIGURE_RC):
        fig = MplFigure(figsize=(6.3, 3.2), layout="constrained")
        loss_ax, acc_ax = fig.subplots(1, 2)
        handles = []
        for i, arch in enumerate(d.archs):
            by_seed = d.runs[arch]
            epochs = next(iter(by_seed.values())).history["epoch"]
            for split, style in (("train", "-"), ("valid", "--")):
                for ax, key, scale in ((loss_ax, f"{split}_loss", 1), (acc_ax, f"{split}_acc", 100)):
                    values = scale * np.array([run.history[key] for run in by_seed.values()])
                    ax.plot(epochs, values.mean(axis=0), style, color=colour(i), marker="o", markersize=2.5, linewidth=1.2)
                    if len(values) > 1:
                        ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=colour(i), alpha=0.12, linewidth=0)
            handles.append(Line2D([], [], color=colour(i), label=titles[arch]))
        handles += [Line2D([], [], color="black", linestyle=s, label=label) for s, label in (("-", "training"), ("--", "validation"))]
        loss_ax.axhline(LN2, color="grey", linewidth=0.8, linestyle=":")
        loss_ax.set(xlabel="epoch", ylabel="binary cross-entropy", title="Loss (dotted: ln 2, chance)")
        acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
        for ax in (loss_ax, acc_ax):
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.grid(alpha=0.3)
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        save_figure(fig, targets)
