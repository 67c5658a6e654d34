"""Part 1 beyond Table 1: uncertainty, paired tests, accuracy by length and the discussion.

    from imdb_rnn.report.findings import findings_context
    context["findings"] = findings_context(params, runs, analyse(runs), diagnostics)

Every number is formatted here from :func:`imdb_rnn.stats.analysis.analyse` and the runs' own
files; the templates only place it. Accuracies print as percent with two decimals.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from imdb_rnn.config import Params
from imdb_rnn.errors import UserError
from imdb_rnn.report.fmt import interval_text, join_and, percent, points, sci
from imdb_rnn.stats.analysis import BOOTSTRAP_RESAMPLES, LN2, Run, length_bin_labels
from imdb_rnn.stats.experiments import Experiment, changed_params, compare, data_identity

LENGTH_FIGURE = "accuracy_by_length"
SPIKE = 10.0  # a batch gradient norm this many times its epoch's mean is called a spike
NEAR_LN2 = 0.05  # a final training loss this close to ln 2 is "near a constant guess"


def _p(value: float) -> str:
    """Three significant figures below 0.1, so that the 0.05 line is never blurred (0.0496, not 0.05)."""
    if value < 1e-4:
        return "< 0.0001"
    return f"{value:.3g}" if value < 0.1 else f"{value:.2f}"


def _rows(params: Params, analysis: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for arch, entry in analysis["archs"].items():
        rows.append(
            {
                "title": params.models[arch].title,
                "runs": [
                    {
                        "seed": r["seed"],
                        "acc": percent(r["test_acc"]),
                        "interval": interval_text(r["interval"]),
                        "best_epoch": r["best_epoch"],
                        "epochs": r["epochs"],
                    }
                    for r in entry["runs"]
                ],
                "mean": percent(entry["mean"]),
                "mean_interval": interval_text(entry["mean_interval"]),
                "by_length": [percent(v) for v in entry["by_length"]],
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
                "difference": points(pair["difference"]),
                "interval": f"[{points(pair['interval'][0])}, {points(pair['interval'][1])}]",
                "p_values": ", ".join(_p(t["p"]) for t in tests),
                "significant_seeds": sum(t["p"] < 0.05 for t in tests),
                "n_seeds": len(tests),
                "real": pair["real"],
            }
        )
    return out


def _peak_over_mean(run: Run) -> float:
    """The largest batch gradient norm of any epoch over that epoch's mean (NaN where not recorded)."""
    peaks, means = run.history.get("grad_norm_max"), run.history.get("grad_norm_mean")
    if not peaks or not means:
        return math.nan
    ratios = [p / m for p, m in zip(peaks, means, strict=True) if m > 0 and math.isfinite(p / m)]
    return max(ratios) if ratios else math.nan


def _discussion(
    params: Params, runs: Mapping[str, Mapping[int, Run]], analysis: Mapping[str, Any], diagnostics: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The numbers the Discussion cites: each one from the runs or the diagnose stage."""
    archs = list(analysis["archs"])
    lstm = [a for a in archs if params.models[a].cell == "lstm"]
    rnns = [a for a in archs if params.models[a].cell == "rnn"]  # the tanh RNNs
    out: dict[str, Any] = {"ln2": f"{LN2:.4f}", "clip_norm": params.train.clip_norm, "embedding_init": params.embedding.init}
    out |= {"rnn": None, "lstm": None}  # each paragraph only where its architectures ran (the templates test them)
    if rnns:
        # the RNNs' last-epoch training loss, over every seed, and the largest change of validation
        # accuracy from one epoch to the next
        final_losses = [run.history["train_loss"][-1] for a in rnns for run in runs[a].values()]
        steps = [
            abs(b - a)
            for arch in rnns
            for run in runs[arch].values()
            for a, b in zip(run.history["valid_acc"], run.history["valid_acc"][1:], strict=False)
        ]
        early = [run.metrics["best_epoch"] < run.metrics["epochs"] for a in rnns for run in runs[a].values()]
        out["rnn"] = {
            "loss_low": f"{min(final_losses):.3f}",
            "loss_high": f"{max(final_losses):.3f}",
            "swing_max": f"{100 * max(steps):.1f}" if steps else None,
            "near_ln2": all(abs(loss - LN2) < NEAR_LN2 for loss in final_losses),
            "early_best": sum(early),
            "runs": len(early),
        }
    if lstm:
        arch = lstm[0]
        entry = analysis["archs"][arch]
        accs = [r["test_acc"] for r in entry["runs"]]
        # half the width of one run's Wilson interval, against the spread between seeds
        half_width = max((r["interval"][1] - r["interval"][0]) / 2 for r in entry["runs"])
        peak = max((_peak_over_mean(run) for run in runs[arch].values()), key=lambda v: -1 if math.isnan(v) else v)
        out["lstm"] = (
            {
                "title": params.models[arch].title,
                "seeds": len(accs),
                "low": percent(min(accs)),
                "high": percent(max(accs)),
                "spread": f"{100 * (max(accs) - min(accs)):.2f}",
                "half_width": f"{100 * half_width:.2f}",
                "spread_over_width": f"{(max(accs) - min(accs)) / (2 * half_width):.1f}" if half_width > 0 else None,
                "seed_dominates": max(accs) - min(accs) > 2 * half_width,
                "peak_over_mean": None if math.isnan(peak) else f"{peak:.0f}",
                "spiky": not math.isnan(peak) and peak >= SPIKE,
            }
            if len(accs) >= 2
            else None
        )
    by_length = {a: analysis["archs"][a]["by_length"] for a in archs}
    labels = length_bin_labels(analysis["length_edges"])
    out["length"] = {
        "rows": [{"title": params.models[a].title, "short": percent(by_length[a][0]), "long": percent(by_length[a][-1])} for a in archs],
        "first_bin": labels[0],
        "last_bin": labels[-1],
    }
    out["flow"] = None
    if diagnostics and rnns:
        out["flow"] = {
            "edge": next(iter(diagnostics.values()))["edge"],
            "length": next(iter(diagnostics.values()))["length"],
            "rnn_ratio": sci(min(diagnostics[a]["trained"]["last_over_middle"] for a in rnns)),
            "lstm_title": params.models[lstm[0]].title if lstm else None,
            "lstm_ratio": sci(diagnostics[lstm[0]]["trained"]["last_over_middle"]) if lstm else None,
        }
    return out


RANDOM_EMBEDDING = "random-embedding"  # results/experiments/<this>: the same recipe from a random start


def _random_start(
    params: Params, runs: Mapping[str, Mapping[int, Run]], analysis: Mapping[str, Any], experiments: Sequence[Experiment]
) -> dict[str, Any] | None:
    """The baseline beside the random-embedding experiment, per architecture both have."""
    summary = next((e.summary for e in experiments if e.name == RANDOM_EMBEDDING), None)
    if not summary:
        return None
    rows = [
        {
            "title": params.models[arch].title,
            "random": percent(summary[arch]["test_acc_mean"]),
            "n": summary[arch]["n"],
            "ours": percent(entry["mean"]),
        }
        for arch, entry in analysis["archs"].items()
        if arch in summary
    ]
    commits = sorted({c[:7] for arch in analysis["archs"] if arch in summary for c in summary[arch].get("code_versions", [])})
    ours = {c[:7] for arch in runs for run in runs[arch].values() for c in [run.metrics.get("code_version", "")]}
    return (
        {"rows": rows, "commits": ", ".join(commits) or "unknown", "name": RANDOM_EMBEDDING, "other_commit": set(commits) != ours} if rows else None
    )


def _value(value: Any) -> str:
    """A params value as YAML writes it; a key one file lacks is "absent"."""
    if value is None:
        return "null/absent"
    return json.dumps(value) if isinstance(value, (list, dict, str)) else str(value).lower() if isinstance(value, bool) else str(value)


def _spread_text(spread: Mapping[str, Any]) -> str:
    if spread["n"] < 2:  # no spread is measured with one seed
        return f"{percent(spread['mean'])} (n = 1)"
    return f"{percent(spread['mean'])} ± {percent(spread['std'])} {interval_text(spread['interval'])} (n = {spread['n']})"


# Keys that say which runs an experiment made, not what it changed in them; and keys that say
# only where the archive was read from (left out when both sides saw the same reviews).
_RUN_KEYS = ("train.seeds", "train.seed", "train.archs")
_LOCATION_KEYS = ("data.url", "data.sha256")


def _lookup(doc: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        doc = doc.get(part) if isinstance(doc, Mapping) else None  # type: ignore[assignment]
    return doc


def _changes(baseline: Mapping[str, Any], other: Mapping[str, Any], same_data: bool, skip: Sequence[str] = ()) -> list[tuple[str, Any, Any]]:
    return [
        (key, a, b)
        for key, a, b in changed_params(dict(baseline), dict(other))
        if not key.startswith("report.") and not (same_data and key in _LOCATION_KEYS) and key not in skip
    ]


def _seed_number(seed: Any, where: str) -> int:
    try:
        return int(seed)
    except (TypeError, ValueError):
        raise UserError(f"{where}: seed {seed!r} is not a whole number; export the experiment again") from None


def _selection(
    params: Params,
    runs: Mapping[str, Mapping[int, Run]],
    experiment: Experiment,
    baseline_params: Mapping[str, Any],
    archs: Sequence[str],
) -> dict[str, Any] | None:
    """How the experiment's value was chosen: each candidate's validation accuracy beside the
    baseline's on the same runs, and whether the experiment runs the best candidate, ranked on
    the (architecture, seed) runs every candidate has. ``archs``: the architectures the appendix
    compares; those the value was not ranked on are named (with the baseline's gradient spikes
    where the value is a clipping norm: the reason to clip an architecture at all)."""
    if not experiment.selection or not experiment.params:
        return None
    # the value chosen: what the experiment changed from the baseline, not which runs it made or where the archive was
    keys = [k for k, _, _ in _changes(baseline_params, experiment.params, True, _RUN_KEYS)]
    if not keys:
        return None
    candidates, baseline = [], {}
    for c in experiment.selection:
        scores: dict[tuple[str, int], float] = {}
        for arch in params.train.archs:
            for seed, acc in (c.summary.get(arch) or {}).get("valid_acc_by_seed", {}).items():
                scores[(arch, _seed_number(seed, f"{experiment.name}/selection/{c.name}"))] = float(acc)
        candidates.append(
            {
                "setting": ", ".join(f"{key} {_value(_lookup(c.params, key))}" for key in keys),
                "ours": all(_lookup(c.params, key) == _lookup(experiment.params, key) for key in keys),
                "scores": scores,
            }
        )
    shared = set.intersection(*(set(c["scores"]) for c in candidates))

    def order(run: tuple[str, int]) -> tuple[int, int]:  # params' order of architectures, then seed
        return params.train.archs.index(run[0]), run[1]

    for c in candidates:
        c["mean"] = sum(c["scores"][run] for run in shared) / len(shared) if shared else None
        c["scores"] = [
            {"title": params.models[arch].title, "seed": seed, "valid": percent(acc)}
            for (arch, seed), acc in sorted(c["scores"].items(), key=lambda kv: order(kv[0]))
        ]
    for arch, seed in sorted(shared, key=order):
        run = runs.get(arch, {}).get(seed)
        if run is not None:
            baseline[(arch, seed)] = {"title": params.models[arch].title, "seed": seed, "valid": percent(run.metrics["valid_acc"])}
    # the architectures the ranking used (the runs every candidate has); the others take the value unranked
    ranked = {arch for arch, _ in shared}
    chosen_on = [arch for arch in archs if arch in ranked]
    untried = [arch for arch in archs if arch not in ranked] if chosen_on else []
    spikes = []
    for arch in untried if "train.clip_norm" in keys else ():
        peaks = [p for p in (_peak_over_mean(run) for run in runs.get(arch, {}).values()) if not math.isnan(p)]
        if peaks:
            ratio = f"{max(peaks):.0f}×" + ("" if spikes else " that epoch's mean")
            spikes.append(f"{ratio} for the {params.models[arch].title}")
    ours = [c for c in candidates if c["ours"]]
    if not ours:
        verdict = "absent"  # the experiment runs a value no candidate tried
    elif not shared:
        verdict = "unranked"  # the candidates share no run to compare them on
    else:
        verdict = "best" if ours[0]["mean"] >= max(c["mean"] for c in candidates) else "not_best"
    return {
        "candidates": candidates,
        "baseline": list(baseline.values()),
        "ours": ", ".join(f"{key} {_value(_lookup(experiment.params, key))}" for key in keys),
        "verdict": verdict,
        "chosen_on": join_and([params.models[a].title for a in chosen_on]) if chosen_on else None,
        "untried": join_and([params.models[a].title for a in untried]) if untried else None,
        "n_untried": len(untried),
        "spikes": join_and(spikes) if spikes else None,  # the baseline's largest batch gradient norm over its epoch's mean
    }


def _shows(params: Params, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per architecture: the paired difference and whether its interval leaves 0, and the ratio
    of the two standard deviations over seeds with its interval."""
    out = []
    for r in rows:
        paired, ratio = r["paired"], r["spread_ratio"]
        entry: dict[str, Any] = {
            "title": params.models[r["arch"]].title,
            "difference": points(r["experiment"]["mean"] - r["baseline"]["mean"]),
            "paired": None,
            "spread": None,
        }
        if paired:
            low, high = paired["interval"]
            entry["paired"] = {
                "difference": points(paired["difference"]),
                "interval": f"[{points(low)}, {points(high)}]",
                "seeds": ", ".join(map(str, paired["seeds"])),
                "excludes_zero": low > 0 or high < 0,
            }
        if ratio:
            entry["spread"] = {
                "baseline": percent(r["baseline"]["std"]),
                "experiment": percent(r["experiment"]["std"]),
                "ratio": f"{ratio['ratio']:.2f}",
                "interval": f"[{ratio['interval'][0]:.2f}, {ratio['interval'][1]:.2f}]",
                "df": ratio["df"],
                "includes_one": ratio["interval"][0] <= 1 <= ratio["interval"][1],
            }
        out.append(entry)
    return out


def appendix_context(
    params: Params,
    baseline_params: Mapping[str, Any],
    runs: Mapping[str, Mapping[int, Run]],
    experiments: Sequence[Experiment],
    data_stats: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One table per experiment: the baseline and the experiment per architecture, what changed,
    how its value was chosen (where it kept the candidates) and what the comparison shows."""
    out = []
    ours = data_identity(data_stats)
    for experiment in experiments:
        rows = compare(experiment, {arch: dict(by_seed) for arch, by_seed in runs.items()})
        same_data = ours is not None and data_identity(experiment.data_stats) == ours
        changes = _changes(baseline_params, experiment.params, same_data)
        # say so only where it hid a difference in where the archive was read from
        same_data = same_data and len(changes) < len(_changes(baseline_params, experiment.params, False))
        has_predictions = any(experiment.correct.values())
        commits = sorted({c[:7] for entry in experiment.summary.values() if isinstance(entry, dict) for c in entry.get("code_versions", [])})
        shows = _shows(params, rows)  # one entry per row, in order: the table's paired cells come from it
        paired = [s["paired"] for s in shows if s["paired"]]
        out.append(
            {
                "name": experiment.name,
                "changes": ("; ".join(f"{key}: {_value(a)} → {_value(b)}" for key, a, b in changes) or "nothing")
                if experiment.params
                else "not recorded (no params.yaml)",
                "same_data": (
                    {"content": data_stats["archive"]["content_fingerprint"][:12], "vocab": data_stats["vocab"]["fingerprint"][:12]}  # type: ignore[index]
                    if same_data
                    else None
                ),
                "has_predictions": has_predictions,
                "commits": ", ".join(commits) or "unknown",
                "selection": _selection(params, runs, experiment, baseline_params, [r["arch"] for r in rows]),
                "shows": shows,
                "rows": [
                    {
                        "title": show["title"],
                        "baseline": _spread_text(r["baseline"]),
                        "experiment": _spread_text(r["experiment"]),
                        "difference": show["difference"],
                        "paired": f"{p['difference']} {p['interval']} (seeds {p['seeds']})" if (p := show["paired"]) else "–",
                    }
                    for r, show in zip(rows, shows, strict=True)
                ],
                "n_paired": len(paired),
                "n_real": sum(p["excludes_zero"] for p in paired),
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
        "random_start": _random_start(params, runs, analysis, experiments),
        "length_png": f"figures/{LENGTH_FIGURE}.png",
        "length_pdf": f"figures/{LENGTH_FIGURE}.pdf",
    }
