"""Part 3: why this reproduction's numbers differ from the original's, answered by experiment.

The original reports some models at chance (below 55 %) where every run here is well above it,
and others at values this reproduction's runs beat or miss. Each candidate explanation was run
as an experiment (``results/experiments/<name>/``, its question in ``experiment.yaml``); this
section asks of every experiment comparable with this report's runs, and of the baseline
itself: do its runs of the original's chance-level models fall below 55 %, and where do its
other models stand against the original's values? Nothing here depends on an experiment's name.
"""

from __future__ import annotations

from typing import Any

from scipy import stats

from imdb_rnn.report.document import Table, data
from imdb_rnn.report.fmt import Markup, code, join_and, percent
from imdb_rnn.report.inputs import ReportData
from imdb_rnn.report.sections.seeds import accuracies
from imdb_rnn.stats.experiments import comparison

TITLE = "Why the numbers differ from the original's"
LEVEL = 3
RESOURCES = ("gap.j2",)  # its template, read at run time (pipeline.codedeps)
CHANCE = 0.55  # a run below this test accuracy is at chance level (the original's 49.51 % and 50.73 %)


def _recipes(d: ReportData) -> list[dict[str, Any]]:
    """The baseline and every comparable experiment: name, what it changed, its runs' accuracies,
    and per run the validation accuracy of every epoch with the epoch that was tested."""
    baseline = {arch: accuracies(d, arch) for arch in d.archs}
    epochs = {
        arch: {seed: (tuple(run.history.get("valid_acc", ())), int(run.metrics["best_epoch"])) for seed, run in d.runs[arch].items()}
        for arch in d.archs
    }
    out = [{"name": "this recipe (Part 1)", "question": "", "changes": [], "runs": baseline, "same": {}, "epochs": epochs, "baseline": True}]
    for e in d.experiments:
        result = comparison(e, d.params.model_dump(mode="json"), d.data_stats, baseline)
        if result.comparable:
            # a run with the baseline run's own test accuracy and loss is the baseline's model: no evidence for the change
            same = same_as_baseline(d, e)
            runs = {arch: {s: v for s, v in by_seed.items() if (arch, s) not in same} for arch, by_seed in e.accuracy.items()}
            out.append(
                {
                    "name": e.name,
                    "question": e.question,
                    "changes": result.changes,
                    "runs": {arch: by_seed for arch, by_seed in runs.items() if by_seed},
                    "same": {arch: sum(a == arch for a, _ in same) for arch in e.accuracy if any(a == arch for a, _ in same)},
                    "epochs": e.epochs,
                    "baseline": False,
                }
            )
    return out


def same_as_baseline(d: ReportData, e: Any) -> set[tuple[str, int]]:
    """(arch, seed) of an experiment's runs that are the baseline's own models: the same test
    accuracy and test loss as the baseline's run of that seed, to the last bit."""
    return {
        (arch, seed)
        for arch, by_seed in e.test_loss.items()
        for seed, loss in by_seed.items()
        if seed in d.runs.get(arch, {})
        and d.runs[arch][seed].metrics.get("test_loss") == loss
        and float(d.runs[arch][seed].metrics["test_acc"]) == e.accuracy[arch][seed]
    }


def _changes_text(recipe: dict[str, Any]) -> str:
    if recipe["baseline"]:
        return "nothing: the published runs"
    if not recipe["changes"]:
        return "nothing: more seeds of this recipe"
    return Markup("; ".join(f"{code(key)} {code(a)} → {code(b)}" for key, a, b in recipe["changes"]))


def _below(recipe: dict[str, Any], archs: list[str], d: ReportData) -> tuple[list[str], list[float]]:
    """Per model, 'title: k of n (lowest x)' for its runs below chance; and those runs' accuracies.
    Runs that are the baseline's own models are left out of the counts, and said."""
    cells, low = [], []
    for arch in archs:
        values = list(recipe["runs"].get(arch, {}).values())
        same = recipe["same"].get(arch, 0)
        left_out = f"; {same} run{'s' if same > 1 else ''} the baseline's model, left out" if same else ""
        if values:
            under = [v for v in values if v < CHANCE]
            low += under
            cells.append(f"{d.title(arch)}: {len(under)} of {len(values)} (lowest {percent(min(values))}{left_out})")
        elif same:
            cells.append(f"{d.title(arch)}: its run{'s are' if same > 1 else ' is'} the baseline's model")
    return cells, low


def _chance_epochs(recipe: dict[str, Any], archs: list[str]) -> list[tuple[str, int, int, float]]:
    """(arch, seed, epoch, validation accuracy) of every epoch below chance, over those models' runs."""
    return [
        (arch, seed, epoch, acc)
        for arch in archs
        for seed, (valid, _) in recipe["epochs"].get(arch, {}).items()
        for epoch, acc in enumerate(valid, start=1)
        if acc < CHANCE
    ]


def _last_epoch_clues(recipe: dict[str, Any], archs: list[str]) -> list[tuple[str, int, float, int]]:
    """Runs whose last epoch validated below chance but which were tested with an earlier epoch:
    (arch, seed, last epoch's validation accuracy, tested epoch)."""
    return [
        (arch, seed, valid[-1], tested)
        for arch in archs
        for seed, (valid, tested) in recipe["epochs"].get(arch, {}).items()
        if valid and valid[-1] < CHANCE and tested != len(valid)
    ]


def _more_seeds(d: ReportData, recipes: list[dict[str, Any]], chance: list[str]) -> list[dict[str, Any]]:
    """Experiments that changed nothing (more seeds of this recipe), pooled with the baseline's runs of the
    chance-level models: how many runs, how many below chance, and a one-sided 95 % upper bound on that rate."""
    out = []
    for r in recipes[1:]:
        if r["changes"]:
            continue
        for arch in chance:
            pooled = {**recipes[0]["runs"].get(arch, {}), **r["runs"].get(arch, {})}
            if len(pooled) <= len(recipes[0]["runs"].get(arch, {})):
                continue
            k, n = sum(v < CHANCE for v in pooled.values()), len(pooled)
            bound = float(stats.beta.ppf(0.95, k + 1, n - k))  # Clopper-Pearson, one-sided
            out.append(
                {"name": r["name"], "title": d.title(arch), "n": n, "k": k, "lowest": percent(min(pooled.values())), "bound": f"{100 * bound:.0f}"}
            )
    return out


def _inside_this_recipe(d: ReportData, recipes: list[dict[str, Any]], chance: list[str]) -> dict[str, Any]:
    """What this recipe's own epochs say: chance-level validation epochs, what the last-epoch rule
    would have tested, and which experiments ran one seed only."""
    baseline_epochs = _chance_epochs(recipes[0], chance)
    runs_with_dips = {(a, s) for a, s, _, _ in baseline_epochs}
    n_runs = sum(len(recipes[0]["runs"].get(a, {})) for a in chance)
    lowest_dip = min(baseline_epochs, key=lambda x: x[3]) if baseline_epochs else None
    # what the last-epoch rule would have tested in this recipe: each run's last-epoch validation accuracy
    last = [(a, s, valid[-1]) for a in chance for s, (valid, _) in recipes[0]["epochs"].get(a, {}).items() if valid]
    lowest_last = min(last, key=lambda x: x[2]) if last else None
    screens = [r["name"] for r in recipes[1:] if max((len(v) for v in r["runs"].values()), default=0) == 1]
    dips = None
    if lowest_dip:
        arch, seed, epoch, acc = lowest_dip
        dips = {"runs": len(runs_with_dips), "of": n_runs, "title": d.title(arch), "seed": seed, "epoch": epoch, "acc": percent(acc)}
    last_rule = None
    if lowest_last:
        arch, seed, acc = lowest_last
        last_rule = {"n": len(last), "below": sum(v < CHANCE for _, _, v in last), "acc": percent(acc), "title": d.title(arch), "seed": seed}
    return {"dips": dips, "screens": join_and(screens) if screens else None, "last": last_rule}


def context(d: ReportData) -> dict[str, Any] | None:
    original = {a: d.original[a]["test_acc_percent"] / 100 for a in d.archs if a in d.original}
    chance = [a for a in original if original[a] < CHANCE]
    others = [a for a in original if original[a] >= CHANCE]
    if not original:
        return None
    recipes = _recipes(d)
    rows, reproduce, side_effects, clues = [], [], [], []
    for r in recipes:
        cells, below = _below(r, chance, d)
        other_cells, other_below = _below(r, others, d)
        if below:
            # the original's pattern is chance for those models only: the others at chance too is another pattern
            also = [d.title(a) for a in others if any(v < CHANCE for v in r["runs"].get(a, {}).values())]
            ran = [a for a in chance if r["runs"].get(a)]
            reproduce.append(
                {
                    "name": r["name"],
                    "also": join_and(also) if also else None,
                    "baseline": r["baseline"],
                    "models": join_and([d.title(a) for a in ran if any(v < CHANCE for v in r["runs"][a].values())]),
                    "not_run": join_and(missing) if (missing := [d.title(a) for a in chance if not r["runs"].get(a)]) else None,
                }
            )
        elif other_below:
            side_effects.append(
                {
                    "name": r["name"],
                    "models": join_and(
                        [
                            f"{d.title(a)} ({', '.join(percent(v) for v in r['runs'][a].values() if v < CHANCE)} %; "
                            f"the original {percent(original[a])} %)"
                            for a in others
                            if any(v < CHANCE for v in r["runs"].get(a, {}).values())
                        ]
                    ),
                }
            )
        for arch, seed, acc, tested in _last_epoch_clues(r, chance):
            clues.append({"name": r["name"], "title": d.title(arch), "seed": seed, "acc": percent(acc), "tested": tested})
        rows.append([data(r["name"]), data(_changes_text(r)), data("; ".join(cells) or "–"), data("; ".join(other_cells) or "–")])
    table = Table(
        ["recipe", "what it changes", "models the original has at chance: runs below 55 %", "the original's other models: runs below 55 %"],
        rows,
        "lXXX",
        "Each recipe against the original's pattern ("
        + (f"its {join_and([d.title(a) for a in chance])} below 55 %, " if chance else "")
        + ("its other models above" if chance else "every model above 55 %")
        + "): how many runs of each model end below 55 % test accuracy, "
        "and the lowest run. Full tables per experiment in the appendix.",
        size="footnotesize",
    )
    facts = _inside_this_recipe(d, recipes, chance)
    return {
        "chance": join_and([f"{d.title(a)} ({percent(original[a])} %)" for a in chance]) if chance else None,
        "lowest": percent(min(v for a in chance for v in accuracies(d, a).values())) if chance else None,
        "own_below": len(_below(recipes[0], chance, d)[1]),
        "own_runs": sum(len(recipes[0]["runs"].get(a, {})) for a in chance),
        "n_experiments": len(recipes) - 1,
        "questions": [{"name": r["name"], "question": r["question"]} for r in recipes[1:] if r["question"]],
        "reproduce": [r for r in reproduce if not r["baseline"]],
        "baseline_reproduces": any(r["baseline"] for r in reproduce),
        "side_effects": side_effects,
        "clues": clues,
        **facts,
        "more_seeds": _more_seeds(d, recipes, chance),
        "not_comparable": [e.name for e in d.experiments if e.name not in {r["name"] for r in recipes}],
        "tables": {"gap": table},
    }
