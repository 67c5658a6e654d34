"""Runs beside the baseline: an experiment's committed files, whether it is comparable, and how it compares.

    from imdb_rnn.stats.experiments import load_experiments, comparison
    for experiment in load_experiments("results/experiments", archs):
        result = comparison(experiment, params_doc, data_stats, accuracies)

An experiment is a folder ``results/experiments/<name>/`` that ``tools/export_experiment.py``
wrote from a finished run of the pipeline: ``params.yaml`` (the exact params it ran with),
``experiment.yaml`` (the question it asks and the baseline params it was compared with),
``summary.json``, ``accuracy.json``, ``data_stats.json`` (which reviews it read) and
``runs/<arch>/seed<k>/`` with ``metrics.json``, ``history.csv`` and ``predictions.csv.gz``.
A value picked on validation before the full run keeps its candidates in
``<name>/selection/<candidate>/``, each an experiment folder of the same form.

A comparison is made only between runs that share the data, the epochs and every setting but
the ones the experiment studies (:func:`comparison`): the report's baseline must have the
params the experiment was compared with (apart from which architectures and seeds ran, and
the report's own texts) and read the same reviews; otherwise the experiment is "not
comparable" with the reason, and no difference is printed. The differences are per seed, in
points, answered over seeds (:func:`imdb_rnn.stats.seeds.paired_over_seeds`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from imdb_rnn.config import parse_params, printable
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import read_json
from imdb_rnn.records import HISTORY, METRICS, PREDICTIONS, read_predictions
from imdb_rnn.stats.analysis import read_history_csv
from imdb_rnn.stats.seeds import paired_over_seeds

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DATA_STATS = "data_stats.json"  # an experiment's copy of results/data/stats.json
RECORD = "experiment.yaml"  # its question and the baseline params it was compared with
SELECTION = "selection"  # <name>/selection/<candidate>/: the runs a value was chosen on
# Keys that say which runs were made, not what was changed in them; keys that only name where
# the archive was read from (ignored where both sides read the same reviews); the report's texts.
RUN_KEYS = ("train.archs", "train.seed", "train.seeds")
LOCATION_KEYS = ("data.url", "data.sha256")
TEXT_PREFIXES = ("report.", "models.")  # models.<arch>.title/family are names, compared below
MODEL_TEXT_KEYS = ("title", "family")


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
    params: dict[str, Any]
    summary: dict[str, Any]
    accuracy: dict[str, dict[int, float]]  # arch -> seed -> test accuracy
    question: str = ""
    baseline_params: dict[str, Any] | None = None  # None: an export from before the record
    data_stats: dict[str, Any] | None = None
    selection: tuple[Candidate, ...] = ()
    # arch -> seed -> (validation accuracy per epoch, the epoch whose weights were tested)
    epochs: dict[str, dict[int, tuple[tuple[float, ...], int]]] = field(default_factory=dict)
    test_loss: dict[str, dict[int, float]] = field(default_factory=dict)  # arch -> seed -> mean test loss


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not readable YAML ({exc.__class__.__name__}); export the experiment again") from None


def _summary_and_params(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        summary = read_json(folder / "summary.json")
    except ValueError as exc:
        raise UserError(f"{folder}/summary.json: unreadable ({exc}); export the experiment again") from None
    return summary, _read_yaml(folder / "params.yaml") or {}


def load_experiments(folder: str | os.PathLike[str] | None, archs: list[str]) -> list[Experiment]:
    """Every ``<folder>/<name>/`` with a ``summary.json``, in name order; none for a missing folder."""
    if folder is None or not Path(folder).is_dir():
        return []
    # a name starting with "." is an export in progress (or one that was interrupted): not an experiment
    folders = [path.parent for path in sorted(Path(folder).glob("*/summary.json")) if not path.parent.name.startswith(".")]
    for found in folders:
        if not PLAIN_NAME.fullmatch(found.name):
            raise UserError(f"{found}: an experiment's folder name is printed in the report; rename it to letters, digits, '-', '_' and '.'")
    return [load_experiment(path, archs) for path in folders]


def load_experiment(folder: Path, archs: list[str]) -> Experiment:
    summary, params = _summary_and_params(folder)
    accuracy: dict[str, dict[int, float]] = {}
    epochs: dict[str, dict[int, tuple[tuple[float, ...], int]]] = {}
    test_loss: dict[str, dict[int, float]] = {}
    for arch in archs:
        for seed in summary.get(arch, {}).get("seeds", []):
            run = folder / "runs" / arch / f"seed{seed}"
            metrics = read_json(run / METRICS) if (run / METRICS).is_file() else None
            if metrics is None:
                continue
            if (run / PREDICTIONS).is_file() and read_predictions(run / PREDICTIONS).accuracy != metrics["test_acc"]:
                raise UserError(f"{run}: predictions and metrics disagree on the test accuracy; export the experiment again")
            accuracy.setdefault(arch, {})[int(seed)] = float(metrics["test_acc"])
            if "test_loss" in metrics:
                test_loss.setdefault(arch, {})[int(seed)] = float(metrics["test_loss"])
            if (run / HISTORY).is_file() and "best_epoch" in metrics:
                valid = tuple(read_history_csv(run / HISTORY).get("valid_acc", ()))
                epochs.setdefault(arch, {})[int(seed)] = (valid, int(metrics["best_epoch"]))
    record = _read_yaml(folder / RECORD) or {}
    question = str(record.get("question") or "")
    try:
        printable(question)
    except ValueError as exc:
        raise UserError(f"{folder / RECORD}: question {exc}") from None
    data_stats = read_json(folder / DATA_STATS) if (folder / DATA_STATS).is_file() else None
    selection = tuple(_candidate(path.parent) for path in sorted((folder / SELECTION).glob("*/summary.json")) if not path.parent.name.startswith("."))
    return Experiment(folder.name, params, summary, accuracy, question, record.get("baseline_params"), data_stats, selection, epochs, test_loss)


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


def changed_params(baseline: Mapping[str, Any], other: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, baseline value, other value) for every leaf that differs."""
    changes = []
    for key in sorted(set(baseline) | set(other)):
        a, b = baseline.get(key), other.get(key)
        if isinstance(a, dict) or isinstance(b, dict):  # a section one file lacks: compare its keys with nothing
            changes += changed_params(a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {}, f"{prefix}{key}.")
        elif a != b:
            changes.append((f"{prefix}{key}", a, b))
    return changes


def _resolved(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A params document with every default filled in (two files that differ only in a default are equal)."""
    try:
        return parse_params(dict(doc), "experiment params").model_dump(mode="json")
    except UserError:
        return dict(doc)


def setting_changes(baseline: Mapping[str, Any], other: Mapping[str, Any], same_data: bool) -> list[tuple[str, Any, Any]]:
    """What ``other`` changed in the recipe of ``baseline``: not which runs it made, not the report's
    texts or the models' names, and not where the archive was read from when the reviews are the same."""
    out = []
    for key, a, b in changed_params(_resolved(baseline), _resolved(other)):
        if key in RUN_KEYS or key.startswith("report.") or (same_data and key in LOCATION_KEYS):
            continue
        if key.startswith("models.") and key.rsplit(".", 1)[1] in MODEL_TEXT_KEYS:
            continue
        if key.startswith("models.") and key.split(".")[1] not in (_resolved(other).get("train") or {}).get("archs", []):
            continue  # a model the experiment did not run
        out.append((key, a, b))
    return out


@dataclass
class Comparison:
    """An experiment set beside this report's baseline."""

    comparable: bool
    reason: str  # why not, when not comparable
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # what the experiment studies
    rows: list[dict[str, Any]] = field(default_factory=list)  # per architecture both ran


def comparison(
    experiment: Experiment,
    baseline_params: Mapping[str, Any],
    baseline_data: Mapping[str, Any] | None,
    baseline_accuracy: Mapping[str, Mapping[int, float]],
) -> Comparison:
    """Whether ``experiment`` can be set beside this baseline, what it changed, and A − B per
    architecture over the seeds both ran (experiment − baseline)."""
    same_data = baseline_data is not None and data_identity(experiment.data_stats) == data_identity(baseline_data)
    if experiment.baseline_params is None:
        return Comparison(False, "it records no baseline params (exported before the record existed); export it again")
    if not same_data:
        return Comparison(False, _data_difference(experiment.data_stats, baseline_data))
    drift = setting_changes(experiment.baseline_params, baseline_params, same_data)
    if drift:
        shown = "; ".join(f"{key} {_value(a)} there, {_value(b)} here" for key, a, b in drift[:3])
        return Comparison(False, f"this report's runs do not use the params the experiment was compared with ({shown})")
    changes = setting_changes(experiment.baseline_params, experiment.params, same_data)
    rows = []
    for arch, ours in baseline_accuracy.items():
        theirs = experiment.accuracy.get(arch)
        if theirs:
            rows.append({"arch": arch, "baseline": dict(ours), "experiment": theirs, "paired": paired_over_seeds(theirs, ours)})
    return Comparison(True, "", changes, rows)


def _data_difference(theirs: Mapping[str, Any] | None, ours: Mapping[str, Any] | None) -> str:
    if theirs is None or ours is None:
        return "which reviews its runs read is not recorded"
    if theirs.get("limit") != ours.get("limit"):
        return f"its runs read data.limit {_value(theirs.get('limit'))} reviews per split, this report's {_value(ours.get('limit'))}"
    return "its runs read other reviews than this report's (archive content, vocabulary or split differ)"


def _value(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
