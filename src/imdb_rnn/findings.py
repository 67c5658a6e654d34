"""Part 1 beyond Table 1: uncertainty, paired tests, accuracy by length, discussion, figures.

    from imdb_rnn.findings import findings_context, plot_seed_curves, plot_length_accuracy
    context["findings"] = findings_context(params, runs, analyse(runs), diagnostics)

Every number is formatted here from :func:`imdb_rnn.analysis.analyse` and the runs' own
files; the templates only place it. Accuracies print as percent with two decimals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .analysis import BOOTSTRAP_RESAMPLES, Run
from .config import Params
from .fileio import atomic_path

SEED_FIGURE = "learning_curves"
LENGTH_FIGURE = "accuracy_by_length"
LN2 = math.log(2)
# Text in the figures at about the body's size once LaTeX scales them to the text width.
FIGURE_RC = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8, "pdf.fonttype": 42, "ps.fonttype": 42}


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` significant figures, as ``d.d × 10ⁿ`` past 10³ or below 10⁻²
    (Unicode superscripts: the LaTeX preamble maps them); ∞ stays ∞."""
    if math.isinf(value):
        return "∞"
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    power = int(exponent)
    if -2 <= power < 3:
        return f"{value:.{max(0, digits - 1 - power)}f}"
    return f"{mantissa} × 10{str(power).translate(SUPERSCRIPTS)}"


MINUS = "\u2212"  # a typeset minus sign, not a hyphen (the LaTeX preamble maps it)


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.2f}".replace("-", MINUS)


def _interval(pair: tuple[float, float] | None) -> str:
    return "–" if pair is None else f"[{_pct(pair[0])}, {_pct(pair[1])}]"


def _points(fraction: float) -> str:
    return f"{100 * fraction:+.2f}".replace("-", MINUS)


def _p(value: float) -> str:
    if value < 1e-4:
        return "< 0.0001"
    return f"{value:.4f}" if value < 0.01 else f"{value:.2f}"


def _rows(params: Params, analysis: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for arch, entry in analysis["archs"].items():
        rows.append(
            {
                "title": params.models[arch].title,
                "runs": [
                    {
                        "seed": r["seed"],
                        "acc": _pct(r["test_acc"]),
                        "interval": _interval(r["interval"]),
                        "best_epoch": r["best_epoch"],
                        "epochs": r["epochs"],
                    }
                    for r in entry["runs"]
                ],
                "mean": _pct(entry["mean"]),
                "mean_interval": _interval(entry["mean_interval"]),
                "by_length": [_pct(v) for v in entry["by_length"]],
            }
        )
    return rows


def _pairs(params: Params, analysis: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for pair in analysis["pairs"]:
        tests = pair["mcnemar"]
        out.append(
            {
                "a": params.models[pair["a"]].title,
                "b": params.models[pair["b"]].title,
                "difference": _points(pair["difference"]),
                "interval": f"[{_points(pair['interval'][0])}, {_points(pair['interval'][1])}]",
                "p_values": ", ".join(_p(t["p"]) for t in tests),
                "significant_seeds": sum(t["p"] < 0.05 for t in tests),
                "n_seeds": len(tests),
                "real": pair["real"],
            }
        )
    return out


def _length_bins(edges: list[int]) -> list[str]:
    return [f"{low + 1}–{high}" for low, high in zip(edges[:-1], edges[1:], strict=True)]


def _discussion(
    params: Params, runs: Mapping[str, Mapping[int, Run]], analysis: Mapping[str, Any], diagnostics: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The numbers the Discussion cites: each one from the runs or the diagnose stage."""
    archs = list(analysis["archs"])
    lstm = [a for a in archs if params.models[a].cell == "lstm"]
    rnns = [a for a in archs if params.models[a].cell != "lstm"]
    means = {a: analysis["archs"][a]["mean"] for a in archs}
    out: dict[str, Any] = {"ln2": f"{LN2:.4f}"}
    if rnns:
        # the RNNs' last-epoch training loss, over every seed, and how far validation accuracy swings
        final_losses = [run.history["train_loss"][-1] for a in rnns for run in runs[a].values()]
        swings = [max(run.history["valid_acc"]) - min(run.history["valid_acc"]) for a in rnns for run in runs[a].values()]
        early = [run.metrics["best_epoch"] for a in rnns for run in runs[a].values()]
        out["rnn"] = {
            "titles": [params.models[a].title for a in rnns],
            "loss_low": f"{min(final_losses):.3f}",
            "loss_high": f"{max(final_losses):.3f}",
            "swing_max": f"{100 * max(swings):.1f}",
            "early_best": sum(e < params.train.epochs for e in early),
            "runs": len(early),
            "best": params.models[max(rnns, key=means.get)].title,
            "best_acc": _pct(max(means[a] for a in rnns)),
        }
    if lstm:
        arch = lstm[0]
        accs = [r["test_acc"] for r in analysis["archs"][arch]["runs"]]
        peaks = [max(run.history.get("grad_norm_max", [math.nan])) for run in runs[arch].values()]
        means_norm = [float(np.mean(run.history.get("grad_norm_mean", [math.nan]))) for run in runs[arch].values()]
        out["lstm"] = {
            "title": params.models[arch].title,
            "low": _pct(min(accs)),
            "high": _pct(max(accs)),
            "spread": f"{100 * (max(accs) - min(accs)):.2f}",
            "peak_over_mean": f"{max(p / m for p, m in zip(peaks, means_norm, strict=True)):.0f}",
            "final_loss": f"{min(run.history['train_loss'][-1] for run in runs[arch].values()):.3f}",
        }
    by_length = {a: analysis["archs"][a]["by_length"] for a in archs}
    out["length"] = {
        "rows": [
            {
                "title": params.models[a].title,
                "short": _pct(by_length[a][0]),
                "long": _pct(by_length[a][-1]),
                "drop": f"{100 * (by_length[a][0] - by_length[a][-1]):.1f}",
            }
            for a in archs
        ],
        "first_bin": _length_bins(analysis["length_edges"])[0],
        "last_bin": _length_bins(analysis["length_edges"])[-1],
    }
    out["flow"] = None
    if diagnostics:
        out["flow"] = {
            "edge": next(iter(diagnostics.values()))["edge"],
            "length": next(iter(diagnostics.values()))["length"],
            "rnn_ratio": sci(min(diagnostics[a]["trained"]["last_over_middle"] for a in rnns)) if rnns else None,
            "lstm_ratio": sci(diagnostics[lstm[0]]["trained"]["last_over_middle"]) if lstm else None,
        }
    return out


def findings_context(
    params: Params, runs: Mapping[str, Mapping[int, Run]], analysis: Mapping[str, Any], diagnostics: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What the report's sections on uncertainty, length and the discussion print."""
    edges = analysis["length_edges"]
    return {
        "reviews": f"{analysis['reviews']:,}",
        "rows": _rows(params, analysis),
        "pairs": _pairs(params, analysis),
        "resamples": f"{BOOTSTRAP_RESAMPLES:,}",
        "length_bins": _length_bins(edges),
        "discussion": _discussion(params, runs, analysis, diagnostics),
        "length_png": f"figures/{LENGTH_FIGURE}.png",
        "length_pdf": f"figures/{LENGTH_FIGURE}.pdf",
    }


# ------------------------------------------------------------------------------ figures


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
    bins = _length_bins(analysis["length_edges"])
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
