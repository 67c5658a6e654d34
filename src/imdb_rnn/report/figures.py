"""The report's figures: learning curves, gradient flow, accuracy by review length.

    from imdb_rnn.report.figures import plot_seed_curves
    plot_seed_curves(runs, titles, [Path("report/figures/learning_curves.png"), Path(".../learning_curves.pdf")])

Bare matplotlib Figures (no pyplot: no GUI backend, no global state in a headless stage),
6.3 in wide = the LaTeX text width, so their text shows at about the body's size. Each is
written to every target, the format from its suffix, without timestamps and with TrueType
(not Type 3) fonts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from imdb_rnn.fileio import atomic_path
from imdb_rnn.stats.analysis import LN2, Run, length_bin_labels

# Text in the figures at about the body's size once LaTeX scales them to the text width.
FIGURE_RC = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8, "pdf.fonttype": 42, "ps.fonttype": 42}


def _colours() -> list[str]:
    return matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def save_figure(fig: Figure, targets: Iterable[Path]) -> None:
    """Write ``fig`` to each target (format from the suffix), without timestamps, fonts embedded as TrueType."""
    for target in targets:
        with atomic_path(target, suffix=target.suffix) as tmp, matplotlib.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42}):
            # No timestamps, so a rerun on the same results is byte-identical; TrueType (42), not Type 3, fonts.
            metadata = {"CreationDate": None} if target.suffix == ".pdf" else {"Software": None}
            fig.savefig(tmp, dpi=150, metadata=metadata)


def plot_seed_curves(runs: Mapping[str, Mapping[int, Run]], titles: Mapping[str, str], targets: Iterable[Path]) -> None:
    """Loss and accuracy per epoch over every seed: the mean as a line, min–max as a band;
    training solid, validation dashed, one colour per architecture."""
    with matplotlib.rc_context(FIGURE_RC):
        fig = Figure(figsize=(6.3, 3.2), layout="constrained")
        loss_ax, acc_ax = fig.subplots(1, 2)
        handles = []
        for i, (arch, by_seed) in enumerate(runs.items()):
            colour = _colours()[i % len(_colours())]
            epochs = next(iter(by_seed.values())).history["epoch"]
            for split, style in (("train", "-"), ("valid", "--")):
                for ax, key, scale in ((loss_ax, f"{split}_loss", 1), (acc_ax, f"{split}_acc", 100)):
                    values = scale * np.array([run.history[key] for run in by_seed.values()])
                    ax.plot(epochs, values.mean(axis=0), style, color=colour, marker="o", markersize=2.5, linewidth=1.2)
                    if len(values) > 1:
                        ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=colour, alpha=0.12, linewidth=0)
            handles.append(Line2D([], [], color=colour, label=titles[arch]))
        handles += [Line2D([], [], color="black", linestyle=s, label=label) for s, label in (("-", "training"), ("--", "validation"))]
        loss_ax.axhline(LN2, color="grey", linewidth=0.8, linestyle=":")
        loss_ax.set(xlabel="epoch", ylabel="binary cross-entropy", title="Loss (dotted: ln 2, chance)")
        acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
        for ax in (loss_ax, acc_ax):
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.grid(alpha=0.3)
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        save_figure(fig, targets)


def plot_length_accuracy(analysis: Mapping[str, Any], titles: Mapping[str, str], targets: Iterable[Path]) -> None:
    """Test accuracy per review-length bin, per architecture (mean over seeds)."""
    bins = length_bin_labels(analysis["length_edges"])
    with matplotlib.rc_context(FIGURE_RC):
        fig = Figure(figsize=(6.3, 2.8), layout="constrained")
        ax = fig.subplots()
        for i, (arch, entry) in enumerate(analysis["archs"].items()):
            ax.plot(
                range(len(bins)), [100 * v for v in entry["by_length"]], "-o", color=_colours()[i % len(_colours())], markersize=3, label=titles[arch]
            )
        ax.axhline(50, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xticks(range(len(bins)), [f"{b}\ntokens" for b in bins])
        ax.set(xlabel="review length (quartiles of the test reviews)", ylabel="test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", frameon=False)
        save_figure(fig, targets)


def plot_learning_curves(histories: Mapping[str, Mapping[str, list[float]]], titles: Mapping[str, str], targets: Iterable[Path]) -> None:
    """Loss and accuracy per epoch, training (solid) and validation (dashed), one colour per
    architecture; written to each of ``targets`` (the format follows the suffix)."""
    # A bare Figure, not pyplot: no GUI backend and no global state in a headless stage;
    # savefig draws PNG with Agg and PDF with matplotlib's vector PDF backend.
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    for i, (arch, h) in enumerate(histories.items()):
        colour = colours[i % len(colours)]
        for split, style in (("train", "-"), ("valid", "--")):
            loss_ax.plot(h["epoch"], h[f"{split}_loss"], style, color=colour, marker="o", markersize=3)
            acc_ax.plot(h["epoch"], [100 * a for a in h[f"{split}_acc"]], style, color=colour, marker="o", markersize=3)
        handles.append(Line2D([], [], color=colour, label=titles[arch]))
    handles += [Line2D([], [], color="black", linestyle=style, label=label) for style, label in (("-", "training"), ("--", "validation"))]
    loss_ax.set(xlabel="epoch", ylabel="binary cross-entropy loss", title="Loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    # One legend below both panels: colour = architecture, line style = split.
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    save_figure(fig, targets)


def plot_gradient_flow(profiles: Mapping[str, Mapping[str, Any]], titles: Mapping[str, str], targets: Iterable[Path]) -> None:
    """Mean |d loss / d embedding| by position, log scale, one colour per architecture: trained
    weights solid, the same model at initialisation dotted."""
    with matplotlib.rc_context(FIGURE_RC):
        _draw_gradient_flow(profiles, titles, targets)


def _draw_gradient_flow(profiles: Mapping[str, Mapping[str, Any]], titles: Mapping[str, str], targets: Iterable[Path]) -> None:
    # 6.3 in = the LaTeX text width: the figure is shown at its own size, text as large as the body's
    fig = Figure(figsize=(6.3, 3.0), layout="constrained")
    ax = fig.subplots()
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    for i, (arch, doc) in enumerate(profiles.items()):
        colour = colours[i % len(colours)]
        for state, style in (("trained", "-"), ("initial", ":")):
            # Norms flushed to zero (below ~1e-38: the CPU flushes denormals) have no log.
            values = [v if v > 0 else float("nan") for v in doc[state]["profile"]]
            ax.plot(range(1, len(values) + 1), values, style, color=colour, linewidth=1.2)
        handles.append(Line2D([], [], color=colour, label=titles[arch]))
    handles += [Line2D([], [], color="black", linestyle=style, label=label) for style, label in (("-", "trained"), (":", "at initialisation"))]
    ax.set_yscale("log")
    ax.set(xlabel="token position in the review", ylabel="mean |∂ loss / ∂ embedding|", title="Gradient reaching each position")
    ax.grid(alpha=0.3, which="both")
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    save_figure(fig, targets)
