"""Copy a finished run of the pipeline into ``results/experiments/<name>/``, checked, with its record.

    from imdb_rnn.stats.export import export_experiment
    export_experiment("../padded-run", "results/experiments/padded-batches",
                      baseline="report/params.yaml", question="Do padded batches put the bi-RNNs at chance?")

What is copied: the workspace's ``params.yaml``, ``results/summary.json``, ``accuracy.json``,
``results/data/stats.json`` (as ``data_stats.json``) and every run's ``metrics.json``, ``history.csv``
and ``predictions.csv.gz``; beside them ``experiment.yaml`` records the question and the
baseline params the experiment is compared with (the report's appendix diffs against those,
not against whatever params.yaml says later).

Checked first, so that an export can never claim what its runs did not do: every run's
``metrics.json`` must agree with the params it is exported under (architecture, seed, epochs,
the embedding's start and, where the run recorded it, every key of its training recipe); no
file may be a link that leaves the workspace. Nothing is written unless every check passes;
the folder appears whole (written under a hidden name, then renamed) or not at all, and an
existing one is never overwritten.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from imdb_rnn.config import Params, load_params, printable
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import read_json, write_text
from imdb_rnn.provenance import git_commit
from imdb_rnn.records import METRICS, PREDICTIONS
from imdb_rnn.stats.experiments import DATA_STATS, RECORD, setting_changes

EXPORTED_RUN_FILES = (METRICS, "history.csv", PREDICTIONS)


def _inside(path: Path, root: Path) -> Path:
    """``path`` resolved, refused when it is a link leading out of ``root`` or nowhere."""
    resolved = path.resolve()
    if path.is_symlink() and not resolved.exists():
        raise UserError(f"{path} is a link to {os.readlink(path)}, which does not exist; replace it with the file the pipeline wrote")
    if not resolved.is_relative_to(root.resolve()):
        raise UserError(f"{path} leads outside the workspace (to {resolved}); an experiment holds only the workspace's own results")
    return resolved


def check_runs(workspace: Path, params: Params) -> None:
    """Refuse runs whose recorded recipe is not the one ``params`` claims (one line per first mismatch)."""
    train = params.train
    for arch in train.archs:
        for seed in train.all_seeds:
            path = workspace / "results" / "runs" / arch / f"seed{seed}" / METRICS
            if not path.is_file():
                continue  # reported as missing by the caller
            metrics = read_json(_inside(path, workspace))
            claims: dict[str, tuple[Any, Any]] = {
                "arch": (metrics.get("arch", arch), arch),
                "seed": (metrics.get("seed"), seed),
                "train.epochs": (metrics.get("epochs"), train.epochs),
                "embedding.init": (metrics.get("embedding_init"), params.embedding.init),
            }
            for key, value in (metrics.get("train") or {}).items():
                if key in type(train).model_fields:
                    claims[f"train.{key}"] = (value, getattr(train, key))
            for key, (recorded, claimed) in claims.items():
                if recorded != claimed:
                    raise UserError(
                        f"{path} was trained with {key} {recorded} but {workspace / 'params.yaml'} says {claimed}: the params were "
                        "edited after the run; rerun the pipeline there (or restore its params.yaml) before exporting"
                    )


def export_experiment(
    workspace: str | os.PathLike[str], out: str | os.PathLike[str], *, baseline: str | os.PathLike[str], question: str = ""
) -> list[Path]:
    """Copy the finished run in ``workspace`` to ``out`` with ``experiment.yaml`` (see the module docstring)."""
    workspace, out = Path(workspace), Path(out)
    try:
        printable(question)
    except ValueError as exc:
        raise UserError(f"--question: {exc}") from None
    if out.exists() or out.is_symlink():
        raise UserError(f"{out} exists; choose another --name, or delete it yourself if it is yours to replace")
    params = load_params(workspace / "params.yaml")
    baseline_doc = yaml.safe_load(Path(baseline).read_text(encoding="utf-8")) if Path(baseline).is_file() else None
    if not isinstance(baseline_doc, dict):
        raise UserError(f"--baseline {baseline}: not a params file; name the params the experiment is compared with (default report/params.yaml)")
    load_params(baseline)  # valid, or one line naming the problem
    check_runs(workspace, params)
    files = {Path("params.yaml"): workspace / "params.yaml"}
    files |= {Path(name): workspace / "results" / name for name in ("summary.json", "accuracy.json")}
    files[Path(DATA_STATS)] = workspace / "results" / "data" / "stats.json"
    for arch in params.train.archs:
        for seed in params.train.all_seeds:
            run = Path("runs") / arch / f"seed{seed}"
            for name in EXPORTED_RUN_FILES:
                source = workspace / "results" / run / name
                if source.is_file() or source.is_symlink() or name != PREDICTIONS:
                    files[run / name] = source
    missing = [str(source) for source in files.values() if not source.is_file() and not source.is_symlink()]
    if missing:
        raise UserError(f"{len(missing)} result file(s) missing, e.g. {missing[0]}; run the pipeline in {workspace} to the end first")
    sources = {relative: _inside(source, workspace) for relative, source in files.items()}
    exported_params = yaml.safe_load((workspace / "params.yaml").read_text(encoding="utf-8"))
    changes = setting_changes(baseline_doc, exported_params, same_data=True)
    record = {
        "question": question,
        "changes": {key: {"baseline": a, "experiment": b} for key, a, b in changes},
        "exported_from_commit": git_commit(workspace),
        "baseline_params": baseline_doc,
    }
    staging = out.with_name(f".{out.name}.partial")
    if staging.exists() or staging.is_symlink():  # left by an interrupted export
        shutil.rmtree(staging) if staging.is_dir() and not staging.is_symlink() else staging.unlink()
    try:
        for relative, source in sources.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_bytes(source.read_bytes())
        write_text(staging / RECORD, yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted([out / relative for relative in sources] + [out / RECORD])
