"""Runs beside the baseline: an experiment's committed files, and its comparison with the baseline.

    from imdb_rnn.stats.experiments import load_experiments, compare
    for experiment in load_experiments("results/experiments", archs):
        rows = compare(experiment, baseline_runs)

An experiment is a folder ``results/experiments/<name>/`` that the pipeline wrote (see
``tools/export_experiment.py``): ``params.yaml`` (the exact params it ran with),
``summary.json`` (the summarize stage's), and ``runs/<arch>/seed<k>/`` with ``metrics.json``,
``history.csv`` and, for runs that wrote them, ``predictions.csv.gz``; ``data_stats.json``
(the prepare stage's ``results/data/stats.json``: which reviews the runs saw) where exported
with it. The report's appendix sets each beside the baseline, per architecture: the mean over
seeds with its sample standard deviation and 95 % Student-t interval, and, where both sides
have predictions for the same seeds, a paired bootstrap over the test reviews of the
difference of the seed means.

A value picked on validation before the full run (say ``train.clip_norm`` 1 or 5, one seed
each) keeps its candidates in ``<name>/selection/<candidate>/``, each an experiment folder of
the same form, so the report can say from files how the value was chosen.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.stats import f as f_dist

from imdb_rnn.config import load_params
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import read_json
from imdb_rnn.records import METRICS, PREDICTIONS, read_predictions
from imdb_rnn.stats.analysis import Run, paired_bootstrap, t_interval

DATA_STATS = "data_stats.json"  # an experiment's copy of results/data/stats.json
SELECTION = "selection"  # <name>/selection/<candidate>/: the runs a value was chosen on


@dataclass(frozen=True)
class Candidate:
    """One run of a value tried before the experiment's value was chosen (``<name>/selection/<candidate>/``)."""

    name: str
    params: dict[str, Any]
    summary: dict[str, Any]


@dataclass(frozen=True)
class Experiment:
    """One experiment's files, read once."""

    name: str
    params: dict[str, Any]  # its params.yaml, or {} when the folder has none
    summary: dict[str, Any]
    correct: dict[str, dict[int, np.ndarray]]  # arch -> seed -> right/wrong per test review, where predictions exist
    reviews: dict[str, dict[int, list[str]]]  # the test reviews those answers are about
    data_stats: dict[str, Any] | None = None  # its data_stats.json; None for an export made without one
    selection: tuple[Candidate, ...] = ()  # in name order


def load_experiments(folder: str | os.PathLike[str] | None, archs: list[str]) -> list[Experiment]:
    """Every ``<folder>/<name>/`` with a ``summary.json``, in name order; none for a missing folder."""
    if folder is None or not Path(folder).is_dir():
        return []
    # a name starting with "." is an export in progress (or one that was interrupted): not an experiment
    return [load_experiment(path.parent, archs) for path in sorted(Path(folder).glob("*/summary.json")) if not path.parent.name.startswith(".")]


def _summary_and_params(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        summary = read_json(folder / "summary.json")
        params = yaml.safe_load((folder / "params.yaml").read_text(encoding="utf-8")) if (folder / "params.yaml").is_file() else {}
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(f"{folder}: unreadable summary.json or params.yaml ({exc}); export the experiment again") from None
    return summary, params or {}


def load_experiment(folder: Path, archs: list[str]) -> Experiment:
    summary, params = _summary_and_params(folder)
    correct: dict[str, dict[int, np.ndarray]] = {}
    reviews: dict[str, dict[int, list[str]]] = {}
    for arch in archs:
        for seed in summary.get(arch, {}).get("seeds", []):
            run = folder / "runs" / arch / f"seed{seed}"
            if (run / PREDICTIONS).is_file():
                predictions = read_predictions(run / PREDICTIONS)
                metrics = read_json(run / METRICS)
                if predictions.accuracy != metrics["test_acc"]:
                    raise UserError(f"{run}: predictions and metrics disagree on the test accuracy; export the experiment again")
                correct.setdefault(arch, {})[seed] = predictions.correct
                reviews.setdefault(arch, {})[seed] = predictions.review
    data_stats = read_json(folder / DATA_STATS) if (folder / DATA_STATS).is_file() else None
    selection = tuple(_candidate(path.parent) for path in sorted((folder / SELECTION).glob("*/summary.json")) if not path.parent.name.startswith("."))
    return Experiment(folder.name, params, summary, correct, reviews, data_stats, selection)


def _candidate(folder: Path) -> Candidate:
    summary, params = _summary_and_params(folder)
    return Candidate(folder.name, params, summary)


def data_identity(stats: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What decides which reviews a run trained, validated and was tested on, and which unlabeled
    ones word2vec read: the archive's content, the vocabulary, ``limit``, the split's seed and
    sizes, the unlabeled count. None when unknown."""
    try:
        splits = {name: split["reviews"] for name, split in stats["splits"].items()}  # type: ignore[index]
        archive, vocab = stats["archive"]["content_fingerprint"], stats["vocab"]["fingerprint"]  # type: ignore[index]
        return (archive, vocab, stats["limit"], stats["seed"], sorted(splits.items()), stats.get("unsup_reviews"))  # type: ignore[union-attr]
    except (KeyError, TypeError):
        return None


def spread_ratio(a: list[float], b: list[float], level: float = 0.95) -> dict[str, Any] | None:
    """sd(a) / sd(b) with its ``level`` interval for the ratio of the two populations' standard
    deviations (F distribution, len(a) − 1 and len(b) − 1 degrees of freedom; normal samples
    assumed). None with fewer than two values on a side or a zero standard deviation."""
    if len(a) < 2 or len(b) < 2:
        return None
    sd_a, sd_b = float(np.std(a, ddof=1)), float(np.std(b, ddof=1))
    if sd_a == 0 or sd_b == 0:
        return None
    ratio = sd_a / sd_b
    tail = (1 - level) / 2
    high_f, low_f = float(f_dist.ppf(1 - tail, len(a) - 1, len(b) - 1)), float(f_dist.ppf(tail, len(a) - 1, len(b) - 1))
    return {"ratio": ratio, "interval": (ratio / math.sqrt(high_f), ratio / math.sqrt(low_f)), "df": (len(a) - 1, len(b) - 1)}


def changed_params(baseline: dict[str, Any], other: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, baseline value, experiment value) for every leaf that differs."""
    changes = []
    for key in sorted(set(baseline) | set(other)):
        a, b = baseline.get(key), other.get(key)
        if isinstance(a, dict) or isinstance(b, dict):  # a section one file lacks: compare its keys with nothing
            changes += changed_params(a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {}, f"{prefix}{key}.")
        elif a != b:
            changes.append((f"{prefix}{key}", a, b))
    return changes


def _spread(accuracies: list[float]) -> dict[str, Any]:
    std = float(np.std(accuracies, ddof=1)) if len(accuracies) > 1 else 0.0
    return {"mean": float(np.mean(accuracies)), "std": std, "n": len(accuracies), "interval": t_interval(accuracies)}


def compare(experiment: Experiment, baseline: dict[str, dict[int, Run]]) -> list[dict[str, Any]]:
    """Per architecture in both: baseline and experiment (mean, std, n, t-interval of the test
    accuracy over seeds), the paired bootstrap interval of experiment − baseline where both
    have predictions for the same seeds on the same reviews (else None), and the ratio of their
    standard deviations over seeds (:func:`spread_ratio`)."""
    rows = []
    for arch, runs in baseline.items():
        entry = experiment.summary.get(arch)
        if not entry:
            continue
        ours = [float(run.predictions.accuracy) for run in runs.values()]
        theirs = [float(v) for v in entry.get("test_acc_by_seed", {"?": entry["test_acc_mean"]}).values()]
        shared = [s for s in runs if s in experiment.correct.get(arch, {}) and experiment.reviews[arch][s] == runs[s].predictions.review]
        paired = None
        if shared:
            a = np.stack([experiment.correct[arch][s] for s in shared])
            b = np.stack([runs[s].predictions.correct for s in shared])
            paired = {"seeds": shared, "difference": float(a.mean() - b.mean()), "interval": paired_bootstrap(a, b)}
        rows.append(
            {"arch": arch, "baseline": _spread(ours), "experiment": _spread(theirs), "paired": paired, "spread_ratio": spread_ratio(theirs, ours)}
        )
    return rows


EXPORTED_RUN_FILES = (METRICS, "history.csv", PREDICTIONS)


def export_experiment(workspace: str | os.PathLike[str], out: str | os.PathLike[str]) -> list[Path]:
    """Copy a finished run of the pipeline in ``workspace`` into the experiment folder ``out``:
    its params.yaml, results/summary.json, accuracy.json and results/data/stats.json (as DATA_STATS), and
    every run's files listed in EXPORTED_RUN_FILES (predictions only where the run wrote them).
    Refuses an existing ``out`` (nothing already exported is overwritten) and writes nothing
    unless every file is there."""
    workspace, out = Path(workspace), Path(out)
    if out.exists():
        raise UserError(f"{out} exists; choose another --name, or delete it yourself if it is yours to replace")
    params = load_params(workspace / "params.yaml")
    files = {Path("params.yaml"): workspace / "params.yaml"}
    files |= {Path(name): workspace / "results" / name for name in ("summary.json", "accuracy.json")}
    files[Path(DATA_STATS)] = workspace / "results" / "data" / "stats.json"
    for arch in params.train.archs:
        for seed in params.train.all_seeds:
            run = Path("runs") / arch / f"seed{seed}"
            for name in EXPORTED_RUN_FILES:
                source = workspace / "results" / run / name
                if source.is_file() or name != PREDICTIONS:
                    files[run / name] = source
    missing = [str(source) for source in files.values() if not source.is_file()]
    if missing:
        raise UserError(f"{len(missing)} result file(s) missing, e.g. {missing[0]}; run the pipeline in {workspace} to the end first")
    staging = out.with_name(f".{out.name}.partial")
    if staging.exists():  # left by an interrupted export
        shutil.rmtree(staging)
    for relative, source in files.items():
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (staging / relative).write_bytes(source.read_bytes())
    staging.rename(out)
    return sorted(out / relative for relative in files)
