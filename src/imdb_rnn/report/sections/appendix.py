"""Appendix: every experiment beside the baseline (``results/experiments/<name>/``), answered over seeds.

Per experiment: the question it asks and what it changed from the baseline params it was
compared with (its ``experiment.yaml``), or why it is not comparable with this report's runs
(then no difference is printed: :func:`imdb_rnn.stats.experiments.comparison`). Per
architecture both ran: each side's mean ± SD over seeds, the per-seed differences, wins out of
n and the mean difference with its 95 % interval over the seeds; one concluding sentence that
the numbers decide. Where the value was picked on validation first (``<name>/selection/``): the
candidates, the margin that decided, the spread that margin must beat, and whether the chosen
run is reused in the evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from imdb_rnn.report.document import Table, data
from imdb_rnn.report.fmt import Markup, code, join_and, number_text, percent, points
from imdb_rnn.report.inputs import ReportData
from imdb_rnn.report.sections.gap import CHANCE, same_as_baseline
from imdb_rnn.report.sections.seeds import accuracies
from imdb_rnn.stats.experiments import Experiment, comparison, setting_changes

TITLE = "Appendix: experiments beside the baseline"
LEVEL = 0
RESOURCES = ("appendix.j2",)  # its template, read at run time (pipeline.codedeps)


def _spread(values: list[float]) -> str:
    """Mean ± SD (n); the n held together by no-break spaces, so a narrow column wraps before it."""
    n = f"(n\u00a0=\u00a0{len(values)})"
    if len(values) == 1:
        return f"{percent(values[0])} {n}"
    return f"{percent(float(np.mean(values)))} ± {percent(float(np.std(values, ddof=1)))} {n}"


def _lookup(doc: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        doc = doc.get(part) if isinstance(doc, Mapping) else None  # type: ignore[assignment]
    return doc


def _selection(d: ReportData, e: Experiment, keys: list[str]) -> dict[str, Any] | None:
    """How the value was chosen: each candidate's validation accuracy on the runs they share,
    the margin between the best two, the baseline's validation spread, and reuse."""
    if not e.selection or not keys:
        return None
    scores = []
    for c in e.selection:
        by_run = {(arch, int(seed)): float(acc) for arch in d.archs for seed, acc in (c.summary.get(arch) or {}).get("valid_acc_by_seed", {}).items()}
        setting = ", ".join(f"{code(key)} {code(_lookup(c.params, key))}" for key in keys)
        scores.append({"setting": setting, "runs": by_run, "ours": all(_lookup(c.params, k) == _lookup(e.params, k) for k in keys)})
    shared = set.intersection(*(set(s["runs"]) for s in scores))
    if not shared:
        return {"unranked": True, "candidates": Markup(join_and([s["setting"] for s in scores]))}
    for s in scores:
        s["mean"] = sum(s["runs"][r] for r in shared) / len(shared)
    ranked = sorted(scores, key=lambda s: -s["mean"])
    chosen = next((s for s in scores if s["ours"]), None)
    archs = sorted({arch for arch, _ in shared}, key=d.archs.index)
    runs = sorted(shared, key=lambda r: (d.archs.index(r[0]), r[1]))
    valid_sd = [float(d.summary[a]["valid_acc_std"]) for a in archs if d.summary.get(a, {}).get("n", 0) > 1]
    reused = chosen is not None and any(run in chosen["runs"] and run[1] in e.accuracy.get(run[0], {}) for run in shared)
    return {
        "unranked": False,
        "candidates": Markup("; ".join(f"{s['setting']}: {percent(s['mean'])} %" for s in ranked)),
        "on": join_and([f"{d.title(a)} seed {s}" for a, s in runs]),
        "n_runs": len(runs),
        "chosen_best": chosen is not None and chosen is ranked[0],
        "margin": points(ranked[0]["mean"] - ranked[1]["mean"]) if len(ranked) > 1 else None,
        "valid_sd": percent(max(valid_sd)) if valid_sd else None,
        "margin_small": bool(valid_sd) and len(ranked) > 1 and ranked[0]["mean"] - ranked[1]["mean"] < 2 * max(valid_sd),
        "reused": reused,
        "untried": join_and([d.title(a) for a in d.archs if a in e.accuracy and a not in archs]) or None,
    }


def _conclusion(d: ReportData, rows: list[dict[str, Any]]) -> str:
    """One sentence per experiment that the numbers decide."""
    better = [d.title(r["arch"]) for r in rows if r["paired"] and r["paired"].verdict == "a"]
    worse = [d.title(r["arch"]) for r in rows if r["paired"] and r["paired"].verdict == "b"]
    open_ = [d.title(r["arch"]) for r in rows if r["paired"] and r["paired"].verdict == "unsettled"]
    single = [d.title(r["arch"]) for r in rows if r["paired"] and r["paired"].verdict == "one seed"]
    parts = []
    if better:
        parts.append(f"it raises the test accuracy of the {join_and(better)} on every seed, with an interval clear of 0")
    if worse:
        parts.append(f"it lowers the test accuracy of the {join_and(worse)} on every seed, with an interval clear of 0")
    if open_:
        parts.append(f"for the {join_and(open_)} these seeds do not settle the direction")
    if single:
        parts.append(f"for the {join_and(single)} one shared seed gives no verdict")
    if not parts:
        return "No architecture ran on a seed the baseline also ran: nothing can be paired."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def same_models(d: ReportData, e: Experiment, changes: list[tuple[str, Any, Any]]) -> list[dict[str, Any]]:
    """The experiment's runs that tested the very model the baseline's run of that seed tested
    (the same test accuracy and test loss, to the last bit), each with the reason the change
    could not act on it where the records show one."""
    out = []
    keys = {key: after for key, _, after in changes}
    same = same_as_baseline(d, e)
    for arch, seed in [(a, s) for a, by_seed in e.test_loss.items() for s in by_seed if (a, s) in same]:
        run = d.runs[arch][seed]
        tested = e.epochs.get(arch, {}).get(seed, ((), 0))[1]
        reason = "the change did not alter {it}"
        if "train.checkpoint" in keys and run.metrics["best_epoch"] == run.metrics["epochs"]:
            reason = "{its} best epoch was the last, so both rules test the same weights"
        elif "train.clip_norm" in keys and keys["train.clip_norm"] is not None and tested:
            norms = run.history.get("grad_norm_max", [])[:tested]
            if norms and max(norms) < float(keys["train.clip_norm"]):
                reason = (
                    f"{{its}} gradient norm stayed below {number_text(float(keys['train.clip_norm']))} up to the epoch tested "
                    f"(largest {max(norms):.2f}), so clipping never acted on the weights tested"
                )
        out.append({"arch": arch, "title": d.title(arch), "seed": seed, "reason": reason})
    return out


def _more_seeds(d: ReportData, rows: list[dict[str, Any]]) -> str:
    """An experiment that changed no setting ran more seeds of the baseline's recipe: pool them."""
    parts = []
    for r in rows:
        pooled = {**r["baseline"], **r["experiment"]}
        values = list(pooled.values())
        below = sum(v < CHANCE for v in values)
        parts.append(
            f"the {d.title(r['arch'])}'s {len(values)} runs span {percent(min(values))}–{percent(max(values))} %, {below} of them below 55 %"
        )
    if not parts:
        return "It shares no architecture with the baseline."
    text = "The same recipe as the baseline on other seeds; with the baseline's runs, " + "; ".join(parts) + "."
    return text


def _experiment(d: ReportData, e: Experiment, baseline: dict[str, dict[int, float]]) -> dict[str, Any]:
    result = comparison(e, d.params.model_dump(mode="json"), d.data_stats, baseline)
    commits = sorted({c[:7] for entry in e.summary.values() if isinstance(entry, dict) for c in entry.get("code_versions", [])})
    out: dict[str, Any] = {"name": e.name, "question": e.question, "commits": ", ".join(commits) or "unknown", "comparable": result.comparable}
    if not result.comparable:
        out["reason"] = result.reason
        return out
    out["changes"] = Markup("; ".join(f"{code(key)} {code(a)} → {code(b)}" for key, a, b in result.changes)) or "no setting (other seeds only)"
    same = same_models(d, e, result.changes)
    same_keys = {(s["arch"], s["seed"]) for s in same}
    rows = []
    for r in result.rows:
        c = r["paired"]
        shared = [seed for seed in r["experiment"] if seed in r["baseline"]]
        per_seed = (
            [("same model" if (r["arch"], seed) in same_keys else points(x)) for seed, x in zip(shared, c.differences, strict=False)] if c else []
        )
        rows.append(
            [
                data(d.title(r["arch"])),
                data(_spread(list(r["baseline"].values()))),
                data(_spread(list(r["experiment"].values()))),
                data(", ".join(per_seed) if c else "–"),
                data(f"{c.wins}/{c.n}" if c and not all(x == "same model" for x in per_seed) else "–"),
                data(
                    "–"
                    if c and all(x == "same model" for x in per_seed)
                    else f"{points(c.mean)}" + (f" [{points(c.interval[0])}, {points(c.interval[1])}]" if c and c.interval else "")
                    if c
                    else "no shared seed"
                ),
            ]
        )
    out["table"] = Table(
        ["Model", "baseline", e.name, "difference per\nshared seed (points)", "wins", "mean difference,\n95 % interval"],
        rows,
        "lXXXrX",
        f"{e.name} beside the baseline: test accuracy (%) mean ± SD over seeds; the difference (the experiment's run minus "
        "the baseline's) on each seed both ran, how many of those seeds the experiment wins, and the mean difference with its "
        "Student-t interval over the seeds.",
        size="footnotesize",
    )
    groups: dict[str, dict[str, list[int]]] = {}
    for entry in same:
        groups.setdefault(entry["reason"], {}).setdefault(entry["title"], []).append(entry["seed"])
    out["same"] = [
        {
            "reason": reason,
            "runs": join_and(
                [f"the {title} on seed{'s' if len(seeds) > 1 else ''} {join_and([str(s) for s in seeds])}" for title, seeds in runs.items()]
            ),
            "plural": sum(len(seeds) for seeds in runs.values()) > 1,
        }
        for reason, runs in groups.items()
    ]
    identical = [
        d.title(r["arch"]) for r in result.rows if r["paired"] and all((r["arch"], s) in same_keys for s in r["experiment"] if s in r["baseline"])
    ]
    rest = [r for r in result.rows if d.title(r["arch"]) not in identical]
    conclusion = _conclusion(d, rest) if rest else ""
    if identical:
        note = (
            f"for the {join_and(identical)} the experiment tested the baseline's own model{'s' if len(identical) > 1 else ''}: no evidence either way"
        )
        conclusion = conclusion[:-1] + "; " + note + "." if conclusion else note[0].upper() + note[1:] + "."
    if not result.changes:
        conclusion = _more_seeds(d, result.rows)
    out["conclusion"] = conclusion
    keys = [key for key, _, _ in setting_changes(e.baseline_params or {}, e.params, True)]
    out["selection"] = _selection(d, e, keys)
    return out


def context(d: ReportData) -> dict[str, Any] | None:
    if not d.experiments:
        return None
    baseline = {arch: accuracies(d, arch) for arch in d.archs}
    experiments = [_experiment(d, e, baseline) for e in d.experiments]
    tables = {f"appendix_{i}": e["table"] for i, e in enumerate(experiments, start=1) if "table" in e}
    for i, e in enumerate(experiments, start=1):
        e["number"] = i
        e["table_directive"] = Markup(f"::: table appendix_{i}") if "table" in e else None
    return {"experiments": experiments, "tables": tables}
