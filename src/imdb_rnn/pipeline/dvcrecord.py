"""Record in dvc.lock what a Snakemake run built, so that DVC does not redo it.

    from imdb_rnn.pipeline.dvcrecord import dvc_stages, record
    names = dvc_stages([("train", {"arch": "rnn1", "seed": "1234"})])   # ["preflight", "train@rnn1-1234"]
    record(".", names)          # None, or a one-line note saying why nothing was recorded

After a successful run every job in Snakemake's DAG is up to date, so each is committed as its
DVC stage (``dvc commit --force``: DVC hashes the deps, params and outputs as they are now and
files the cached outputs; no output is rewritten). ``preflight``, whose checks Snakemake runs
when it loads the workflow, is recorded with the record the stage program writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from imdb_rnn.fileio import write_json
from imdb_rnn.pipeline.stages import PREFLIGHT, STAGES


def dvc_stages(jobs: Iterable[tuple[str, dict[str, str]]]) -> list[str]:
    """The DVC stages that are these Snakemake jobs (rule name, wildcards), in the table's
    order, preceded by ``preflight`` (its checks ran when Snakemake loaded the workflow)."""
    by_rule: dict[str, set[str]] = {}
    for rule, wildcards in jobs:
        by_rule.setdefault(rule, set())
        found = next((s for s in STAGES if s.name == rule and s.snakemake_rule), None)
        if found is not None:
            by_rule[rule].add(found.dvc_name(wildcards))
    names = [name for s in STAGES if s.snakemake_rule for name in sorted(by_rule.get(s.name, ()))]
    return ["preflight", *names] if names else []


def record(root: str | Path, names: list[str], preflight_record: dict[str, Any]) -> str | None:
    """Commit stages ``names`` of the DVC project at ``root``; a note when that cannot be done."""
    root = Path(root)
    if not names or not (root / ".dvc").is_dir():
        return None
    path = root / PREFLIGHT
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        current = None
    if current != preflight_record:
        write_json(path, preflight_record)
    from dvc.repo import Repo

    logging.getLogger("dvc").setLevel(logging.WARNING)
    try:
        with Repo(str(root)) as repo:
            for name in names:
                repo.commit(name, force=True, relink=False)
    except Exception as exc:  # DVC's errors share no base class a caller could name
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"note: this run is not recorded for DVC ({first}); `dvc commit` records it"
    return None
