"""Runs beside the baseline: an experiment's committed files, and its comparison with the baseline.

    from imdb_rnn.experiments import load_experiments, compare
    for experiment in load_experiments("results/experiments", archs):
        rows = compare(experiment, baseline_runs)

An experiment is a folder ``results/experiments/<name>/`` that the pipeline wrote (see
``workflow/scripts/export_experiment.py``): ``params.yaml`` (the exact params it ran with),
``summary.json`` (the summarize stage's), and ``runs/<arch>/seed<k>/`` with ``metrics.json``,
``history.csv`` and, for runs that wrote them, ``predictions.csv.gz``. The report's appendix
sets each beside the baseline, per architecture: the mean over seeds with its sample standard
deviation and 95 % Student-t interval, and, where both sides have predictions for the same
seeds, a paired bootstrap over the test reviews of the difference of the seed means.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .analysis import Run, paired_bootstrap, t_interval
from .config import load_params
from .errors import UserError
from .fileio import read_json
from .records import METRICS, PREDICTIONS, read_predictions


@dataclass(frozen=True)
class Experiment:
    """One experiment's files, read once."""

    name: str
    params: dict[str, Any]  # its params.yaml, or {} when the folder has none
    summary: dict[str, Any]
    correct: dict[str, dict[int, np.ndarray]]  # arch -> seed -> right/wrong per test review, where predictions exist
    reviews: dict[str, dict[int, list[str]]]  # the test reviews those answers are about


def load_experiments(folder: str | os.PathLike[str] | None, archs: list[str]) -> list[Experiment]:
    """Every ``<folder>/<name>/`` with a ``summary.json``, in name order; none for a missing folder."""
    if folder is None or not Path(folder).is_dir():
        return []
    # a name starting with "." is an export in progress (or one that was interrupted): not an experiment
    return [load_experiment(path.parent, archs) for path in sorted(Path(folder).glob("*/summary.json")) if not path.parent.name.startswith(".")]


def load_experiment(folder: Path, archs: list[str]) -> Experiment:
    try:
        summary = read_json(folder / "summary.json")
        params = yaml.safe_load((folder / "params.yaml").read_text(encoding="utf-8")) if (folder / "params.yaml").is_file() else {}
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(f"{folder}: unreadable summary.json or params.yaml ({exc}); export the experiment again") from None
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
    return Experiment(folder.name, params or {}, summary, correct, reviews)


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
    accuracy over seeds), and the paired bootstrap interval of experiment − baseline where both
    have predictions for the same seeds on the same reviews (else None)."""
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
        rows.append({"arch": arch, "baseline": _spread(ours), "experiment": _spread(theirs), "paired": paired})
    return rows


EXPORTED_RUN_FILES = (METRICS, "history.csv", PREDICTIONS)


def export_experiment(workspace: str | os.PathLike[str], out: str | os.PathLike[str]) -> list[Path]:
    """Copy a finished run of the pipeline in ``workspace`` into the experiment folder ``out``:
    its params.yaml, results/summary.json and accuracy.json, and every run's files listed in
    EXPORTED_RUN_FILES (predictions only where the run wrote them). Refuses an existing ``out``
    (nothing already exported is overwritten) and writes nothing unless every file is there."""
    workspace, out = Path(workspace), Path(out)
    if out.exists():
        raise UserError(f"{out} exists; choose another --name, or delete it yourself if it is yours to replace")
    params = load_params(workspace / "params.yaml")
    files = {Path("params.yaml"): workspace / "params.yaml"}
    files |= {Path(name): workspace / "results" / name for name in ("summary.json", "accuracy.json")}
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
