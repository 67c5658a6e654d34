"""Everything the report reads, read once and checked: one :class:`ReportData` for every section.

    from imdb_rnn.report.inputs import ReportInputs, load_report_data
    data = load_report_data(inputs)      # one clear error naming the stage to rerun if a file is missing

Inputs are the results files the earlier stages wrote (paths in :class:`ReportInputs`): the
summary and per-architecture files of ``summarize``, every run's metrics, history and
predictions (``train``), the prepare and embed statistics, Part 2's verification
(``gradcheck``), the gradient profiles (``diagnose``) and the experiments committed beside the
baseline (``results/experiments/``). The original report's own values come from
``templates/original_values.yaml``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imdb_rnn.config import Params, load_params
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import read_json
from imdb_rnn.records import CONTRACT_HISTORY_COLUMNS
from imdb_rnn.stats.analysis import Run, analyse, load_runs
from imdb_rnn.stats.experiments import Experiment, load_experiments

RESOURCES = ("templates/original_values.yaml",)  # read at run time (pipeline.codedeps)
ORIGINAL_VALUES = Path(__file__).with_name("templates") / "original_values.yaml"


@dataclass(frozen=True)
class ReportInputs:
    """Where the report's inputs are; folders hold one ``<arch>.json|csv|txt`` per architecture."""

    params: Path
    summary: Path
    metrics: Path
    history: Path
    models: Path
    data_stats: Path
    embedding_stats: Path
    verification: Path
    diagnostics: Path  # folder of <arch>.json gradient profiles (stage diagnose)
    runs: Path  # results/runs: every seed's metrics, history and predictions (stage train)
    experiments: Path | None = None  # results/experiments: <name>/ of runs beside the baseline


@dataclass(frozen=True)
class ReportData:
    """Every input of the report, read once (:func:`load_report_data`)."""

    params: Params
    params_path: Path
    summary: dict[str, Any]
    metrics: dict[str, dict[str, Any]]  # primary seed's, per architecture
    structures: dict[str, str]  # print(model), per architecture
    data_stats: dict[str, Any]
    embedding_stats: dict[str, Any]
    verification: dict[str, Any]
    diagnostics: dict[str, dict[str, Any]]  # per architecture
    runs: dict[str, dict[int, Run]]  # every seed
    analysis: dict[str, Any]  # imdb_rnn.stats.analysis.analyse(runs)
    experiments: list[Experiment]  # results/experiments/<name>/, in name order
    original: dict[str, dict[str, Any]]  # the original report's values, per architecture id

    @property
    def archs(self) -> list[str]:
        return list(self.params.train.archs)

    def title(self, arch: str) -> str:
        return self.params.models[arch].title

    def family(self, arch: str) -> str:
        return self.params.models[arch].family_name


def _load_json(path: Path, stage: str) -> Any:
    if not path.is_file():
        raise UserError(f"missing {path}; run stage `{stage}` first")
    return read_json(path)


def _load_text(path: Path, stage: str) -> str:
    if not path.is_file():
        raise UserError(f"missing {path}; run stage `{stage}` first")
    return path.read_text(encoding="utf-8")


def read_history(path: Path) -> dict[str, list[float]]:
    """One list per column of a summarized ``history.csv`` (the contract's columns at least)."""
    rows = list(csv.DictReader(_load_text(path, "summarize").splitlines()))
    columns = CONTRACT_HISTORY_COLUMNS[:5]  # all but seconds
    if not rows or any(c not in rows[0] for c in columns):
        raise UserError(f"{path} has no rows or lacks one of {', '.join(columns)}; rerun stages `train` and `summarize`")
    try:
        return {c: [float(row[c]) for row in rows] for c in rows[0]}
    except (TypeError, ValueError):
        raise UserError(f"{path} has a damaged row (a value is missing or not a number); rerun stages `train` and `summarize`") from None


def load_report_data(inputs: ReportInputs) -> ReportData:
    """Read and check every input; one clear error naming the stage to rerun when one is missing."""
    params = load_params(inputs.params)
    archs = params.train.archs
    summary = _load_json(inputs.summary, "summarize")
    metrics = {arch: _load_json(inputs.metrics / f"{arch}.json", "summarize") for arch in archs}
    for arch in archs:
        if arch not in summary:
            raise UserError(f"{inputs.summary} has no entry for {arch}; rerun stage `summarize`")
        if metrics[arch]["epochs"] != params.train.epochs:
            raise UserError(
                f"{inputs.metrics / f'{arch}.json'} is from a {metrics[arch]['epochs']}-epoch run but train.epochs is "
                f"{params.train.epochs} in {inputs.params}; rerun stages `train` and `summarize`"
            )
        read_history(inputs.history / f"{arch}.csv")  # the summarized copy must be whole too
    runs = load_runs(inputs.runs, archs, params.train.all_seeds)
    return ReportData(
        params=params,
        params_path=inputs.params,
        summary=summary,
        metrics=metrics,
        structures={arch: _load_text(inputs.models / f"{arch}.txt", "summarize").rstrip("\n") for arch in archs},
        data_stats=_load_json(inputs.data_stats, "prepare"),
        embedding_stats=_load_json(inputs.embedding_stats, "embed"),
        verification=_load_json(inputs.verification, "gradcheck"),
        diagnostics={arch: _load_json(inputs.diagnostics / f"{arch}.json", "diagnose") for arch in archs},
        runs=runs,
        analysis=analyse(runs),
        experiments=load_experiments(inputs.experiments, archs),
        original=yaml.safe_load(ORIGINAL_VALUES.read_text(encoding="utf-8")) or {},
    )
