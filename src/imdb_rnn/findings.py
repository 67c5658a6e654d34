"""Part 1 beyond Table 1: uncertainty, paired tests, accuracy by length and the discussion.

    from imdb_rnn.findings import findings_context
    context["findings"] = findings_context(params, runs, analyse(runs), diagnostics)

Every number is formatted here from :func:`imdb_rnn.analysis.analyse` and the runs' own
files; the templates only place it. Accuracies print as percent with two decimals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .analysis import BOOTSTRAP_RESAMPLES, Run, length_bin_labels
from .config import Params
from .experiments import Experiment, changed_params, compare
from .reportfmt import sci

LENGTH_FIGURE = "accuracy_by_length"
LN2 = math.log(2)


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
        "first_bin": length_bin_labels(analysis["length_edges"])[0],
        "last_bin": length_bin_labels(analysis["length_edges"])[-1],
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


RANDOM_EMBEDDING = "random-embedding"  # results/experiments/<this>: the same recipe from a random start


def _random_start(params: Params, analysis: Mapping[str, Any], experiments: Sequence[Experiment]) -> dict[str, Any] | None:
    """The baseline beside the random-embedding experiment, per architecture both have."""
    summary = next((e.summary for e in experiments if e.name == RANDOM_EMBEDDING), None)
    if not summary:
        return None
    rows = [
        {"title": params.models[arch].title, "random": _pct(summary[arch]["test_acc_mean"]), "n": summary[arch]["n"], "ours": _pct(entry["mean"])}
        for arch, entry in analysis["archs"].items()
        if arch in summary
    ]
    commits = sorted({c[:7] for arch in analysis["archs"] if arch in summary for c in summary[arch].get("code_versions", [])})
    return {"rows": rows, "commits": ", ".join(commits) or "unknown", "name": RANDOM_EMBEDDING} if rows else None


def _spread_text(spread: Mapping[str, Any]) -> str:
    return f"{_pct(spread['mean'])} ± {_pct(spread['std'])} {_interval(spread['interval'])} (n = {spread['n']})"


def appendix_context(
    params: Params, baseline_params: Mapping[str, Any], runs: Mapping[str, Mapping[int, Run]], experiments: Sequence[Experiment]
) -> list[dict[str, Any]]:
    """One table per experiment: the baseline and the experiment per architecture, and what changed."""
    out = []
    for experiment in experiments:
        rows = compare(experiment, {arch: dict(by_seed) for arch, by_seed in runs.items()})
        changes = [(key, a, b) for key, a, b in changed_params(dict(baseline_params), experiment.params) if not key.startswith("report.")]
        commits = sorted({c[:7] for entry in experiment.summary.values() if isinstance(entry, dict) for c in entry.get("code_versions", [])})
        paired = [r for r in rows if r["paired"]]
        out.append(
            {
                "name": experiment.name,
                "changes": "; ".join(f"{key}: {a} → {b}" for key, a, b in changes) if experiment.params else "not recorded (no params.yaml)",
                "commits": ", ".join(commits) or "unknown",
                "rows": [
                    {
                        "title": params.models[r["arch"]].title,
                        "baseline": _spread_text(r["baseline"]),
                        "experiment": _spread_text(r["experiment"]),
                        "difference": _points(r["experiment"]["mean"] - r["baseline"]["mean"]),
                        "paired": f"{_points(r['paired']['interval'][0])} to {_points(r['paired']['interval'][1])}" if r["paired"] else "–",
                    }
                    for r in rows
                ],
                "n_paired": len(paired),
                "n_real": sum(1 for r in paired if r["paired"]["interval"][0] > 0 or r["paired"]["interval"][1] < 0),
            }
        )
    return out


def findings_context(
    params: Params,
    runs: Mapping[str, Mapping[int, Run]],
    analysis: Mapping[str, Any],
    diagnostics: Mapping[str, Any] | None,
    experiments: Sequence[Experiment] = (),
) -> dict[str, Any]:
    """What the report's sections on uncertainty, length and the discussion print."""
    edges = analysis["length_edges"]
    return {
        "reviews": f"{analysis['reviews']:,}",
        "rows": _rows(params, analysis),
        "pairs": _pairs(params, analysis),
        "resamples": f"{BOOTSTRAP_RESAMPLES:,}",
        "length_bins": length_bin_labels(edges),
        "discussion": _discussion(params, runs, analysis, diagnostics),
        "random_start": _random_start(params, analysis, experiments),
        "length_png": f"figures/{LENGTH_FIGURE}.png",
        "length_pdf": f"figures/{LENGTH_FIGURE}.pdf",
    }
