"""Stage ``summarize``: aggregate every training run (architecture × seed) into the contract files.

    python workflow/scripts/summarize.py --params params.yaml --runs results/runs --out results

Reads, for each architecture of ``train.archs`` and each seed of ``train.all_seeds``, the run
folder ``<runs>/<arch>/seed<k>/`` (``metrics.json``, ``history.csv``, ``model.txt``, as the
``train`` stage writes them) and writes under ``<out>`` (docs/pipeline.md, output contract):

- ``summary.json``: per architecture id, ``test_acc_mean``, ``test_acc_std``, ``n``, ``seeds``,
  ``primary_seed``, ``test_acc_by_seed``, ``valid_acc_mean``, ``valid_acc_std``,
  ``valid_acc_by_seed``, ``rnn_params``, ``train_seconds_total`` (all seeds), ``code_versions``
  (the commits that trained them, see :mod:`imdb_rnn.provenance`) and ``std``, which
  says what the standard deviations are: the *sample* standard deviation over seeds
  (ddof = 1), and 0.0 when only one seed ran (n = 1), where it is undefined.
- ``metrics/<arch>.json``: the primary seed's ``metrics.json`` plus ``test_acc_mean``,
  ``test_acc_std`` and ``n``, so ``dvc exp show`` shows the aggregate beside the single run.
- ``<out>/history/<arch>.csv`` and ``<out>/models/<arch>.txt``: the primary seed's ``history.csv`` and
  ``model.txt``, byte for byte.
- ``accuracy.json``: per architecture only ``test_acc`` and ``valid_acc`` (means over seeds)
  and ``n``: the file DVC declares as its metrics, so that ``dvc exp show`` stays readable
  (the full metrics have some twenty keys per architecture).

The primary seed is the first of ``train.all_seeds`` (``train.seed``).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from imdb_rnn.errors import UserError
from imdb_rnn.fileio import read_json, write_bytes, write_json
from imdb_rnn.records import CONTRACT_HISTORY_COLUMNS, HISTORY, METRICS, STRUCTURE, run_dir

HISTORY_HEADER = ",".join(CONTRACT_HISTORY_COLUMNS)
REQUIRED_METRICS = ("test_acc", "valid_acc", "rnn_params", "train_seconds")
STD_DEFINITION = "sample standard deviation over seeds (ddof=1); 0.0 when n = 1"


def _require(path: Path, arch: str, seed: int) -> Path:
    if not path.is_file():
        raise UserError(f"missing {path}; run stage `train` for {arch} seed {seed} first (e.g. `snakemake --cores 4` or `dvc repro`)")
    return path


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1); the deviation of one value is 0.0."""
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def read_run(runs: str | os.PathLike[str], arch: str, seed: int) -> dict[str, Any]:
    """One run's metrics (checked for the keys the summary needs) and the raw bytes of its
    history and model printout."""
    folder = run_dir(runs, arch, seed)
    metrics_path = _require(folder / METRICS, arch, seed)
    metrics = read_json(metrics_path)
    missing = [key for key in REQUIRED_METRICS if key not in metrics]
    if missing:
        raise UserError(f"{metrics_path} lacks {', '.join(missing)}; rerun stage `train` for {arch} seed {seed}")
    history_path = _require(folder / HISTORY, arch, seed)
    history = history_path.read_bytes()
    header = history.decode("utf-8", "replace").partition("\n")[0].rstrip("\r")
    if header != HISTORY_HEADER and not header.startswith(HISTORY_HEADER + ","):
        raise UserError(f"{history_path} does not start with the header {HISTORY_HEADER}; rerun stage `train` for {arch} seed {seed}")
    problem = history_damage(history, metrics.get("epochs"))
    if problem:
        raise UserError(f"{history_path} is damaged ({problem}); rerun stage `train` for {arch} seed {seed}")
    structure = _require(folder / STRUCTURE, arch, seed).read_bytes()
    return {"metrics": metrics, "history": history, "structure": structure}


def history_damage(history: bytes, epochs: int | None) -> str | None:
    """What is wrong with a history.csv past its header (a file cut short, a row short of
    fields or not numbers, fewer rows than epochs), or None."""
    if not history.endswith(b"\n"):
        return "its last line is cut short"
    lines = history.decode("utf-8", "replace").rstrip("\n").split("\n")
    width = lines[0].count(",") + 1
    for number, line in enumerate(lines[1:], 2):
        fields = line.rstrip("\r").split(",")
        try:
            [float(field) for field in fields]
        except ValueError:
            return f"line {number} holds a value that is not a number"
        if len(fields) != width:
            return f"line {number} has {len(fields)} of the header's {width} columns"
    if epochs is not None and len(lines) - 1 != epochs:
        return f"{len(lines) - 1} rows for {epochs} epochs"
    return None


def summarize_arch(runs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The summary entry of one architecture from its runs, keyed by seed (primary first)."""
    seeds = list(runs)
    test = [runs[s]["metrics"]["test_acc"] for s in seeds]
    valid = [runs[s]["metrics"]["valid_acc"] for s in seeds]
    test_mean, test_std = mean_std(test)
    valid_mean, valid_std = mean_std(valid)
    return {
        "test_acc_mean": test_mean,
        "test_acc_std": test_std,
        "n": len(seeds),
        "seeds": seeds,
        "primary_seed": seeds[0],
        "test_acc_by_seed": {str(s): acc for s, acc in zip(seeds, test, strict=True)},
        "valid_acc_mean": valid_mean,
        "valid_acc_std": valid_std,
        "valid_acc_by_seed": {str(s): acc for s, acc in zip(seeds, valid, strict=True)},
        "rnn_params": runs[seeds[0]]["metrics"]["rnn_params"],
        "train_seconds_total": round(sum(runs[s]["metrics"]["train_seconds"] for s in seeds), 3),
        # Runs from before the training code recorded its commit say "unknown".
        "code_versions": sorted({runs[s]["metrics"].get("code_version", "unknown") for s in seeds}),
        "std": STD_DEFINITION,
    }


def summarize(archs: Sequence[str], seeds: Sequence[int], runs: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Any]:
    """Read every run, write the contract files under ``out``, return the summary.

    Every run is read before anything is written, so a missing file leaves ``out`` untouched.
    """
    if not seeds:
        raise UserError("no seeds to summarize; set train.seed or train.seeds in params.yaml")
    out = Path(out)
    all_runs = {arch: {seed: read_run(runs, arch, seed) for seed in seeds} for arch in archs}
    summary = {arch: summarize_arch(arch_runs) for arch, arch_runs in all_runs.items()}
    for arch, arch_runs in all_runs.items():
        primary = arch_runs[seeds[0]]
        entry = summary[arch]
        write_json(
            out / "metrics" / f"{arch}.json",
            {**primary["metrics"], "test_acc_mean": entry["test_acc_mean"], "test_acc_std": entry["test_acc_std"], "n": entry["n"]},
        )
        write_bytes(out / "history" / f"{arch}.csv", primary["history"])
        write_bytes(out / "models" / f"{arch}.txt", primary["structure"])
    write_json(out / "summary.json", summary)
    accuracy = {arch: {"test_acc": e["test_acc_mean"], "valid_acc": e["valid_acc_mean"], "n": e["n"]} for arch, e in summary.items()}
    write_json(out / "accuracy.json", accuracy)
    return summary
