"""Part 3 opens: what this reproduction adds to the original, and how its comparisons are made."""

from __future__ import annotations

from typing import Any

from imdb_rnn.report.inputs import ReportData

TITLE = "Beyond the original"
LEVEL = 2
RESOURCES = ("beyond.j2",)  # its template, read at run time (pipeline.codedeps)


def context(d: ReportData) -> dict[str, Any]:
    return {"n": max(len(by_seed) for by_seed in d.runs.values())}
