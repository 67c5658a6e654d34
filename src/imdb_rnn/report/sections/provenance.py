"""The closing block: which commit rendered the report, which trained its runs, on what data and
params, and where the full record lives (each run's metrics.json, dvc.lock)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import Any

from imdb_rnn.provenance import code_version
from imdb_rnn.report.fmt import count, join_and
from imdb_rnn.report.inputs import ReportData

TITLE = "Provenance"
LEVEL = 0
RESOURCES = ("provenance.j2",)  # its template, read at run time (pipeline.codedeps)


def _date() -> str:
    # SOURCE_DATE_EPOCH (reproducible-builds.org) pins the date, so two renders can be compared.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch and epoch.isdigit() else dt.datetime.now(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _data(d: ReportData) -> str:
    """What the runs read: the whole archive, or the sample ``data.limit`` drew from it."""
    stats = d.data_stats
    archive = sum(stats["archive"]["reviews"].values())
    used = sum(split["reviews"] for split in stats["splits"].values()) + stats.get("unsup_reviews", 0)
    if stats["limit"]:
        return f"a sample of {count(used)} of the archive's {count(archive)} reviews (data.limit {count(stats['limit'])} per split)"
    return f"all {count(archive)} reviews of the archive"


def context(d: ReportData) -> dict[str, Any]:
    trained = sorted({v[:12] for by_seed in d.runs.values() for run in by_seed.values() for v in [run.metrics.get("code_version", "unknown")]})
    devices = sorted({run.metrics["device"] for by_seed in d.runs.values() for run in by_seed.values()})
    cpus = sorted({(run.metrics.get("numerics") or {}).get("cpu", "unknown") for by_seed in d.runs.values() for run in by_seed.values()})
    commit = code_version()
    return {
        "date": _date(),
        "commit": commit[:12] + ("+dirty" if commit.endswith("+dirty") else ""),
        "trained": trained,
        "params_hash": hashlib.sha256(d.params_path.read_bytes()).hexdigest()[:12],
        "data": _data(d),
        "fingerprint": d.data_stats["archive"]["content_fingerprint"][:12],
        "hardware": join_and(devices) + " (" + join_and(cpus) + ")",
        "numerics": d.params.numerics.cpu,
    }
