"""Runs that keep the published results apart: a smoke run, and any run of params other than the published ones.

    from imdb_rnn.pipeline.runs import plan
    run = plan("try", project=Path("."))      # runs/try/: 2,000 reviews per split, 1 epoch, 1 seed
    run = plan("report", project=Path("."))   # in place for the published recipe, else runs/local/

The repository's ``results/`` and ``report/`` hold the published run. A run of the published
recipe may write there (it reproduces them); any other run goes to a workspace of its own
under ``runs/<name>/`` (git-ignored): a copy of the pipeline's files (Snakefile, workflow/,
src/, profiles/) and its own params.yaml, where Snakemake writes ``results/``, ``report/``,
``data/`` and ``models/`` as it would in the project. A rerun reuses the workspace, so an
interrupted run continues; files are copied only when they changed, with their times, so
Snakemake reruns only what a change touches. The archive the project already downloaded is
reused (linked), not fetched again.

"Published recipe" means every params key as the published report recorded it
(``report/params.yaml`` as committed), apart from where the archive is read from
(``data.url``, ``data.sha256``: the same reviews under another name).

Both tools run :func:`guard` before they write (Snakemake when a run starts, DVC in its
``preflight`` stage, which every stage that writes a git-tracked file waits for): in the
project's own folder, a run of params other than the published recipe is refused in one line
that says where to run it instead. A copy of the project (a workspace under runs/, a DVC
experiment's temporary folder) is not the published record and runs freely; a scratch git
clone is guarded like the project; ``IMDB_RNN_REPLACE_PUBLISHED=1`` replaces the published results on
purpose (a maintainer publishing a new run).
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imdb_rnn.config import load_params
from imdb_rnn.errors import UserError
from imdb_rnn.params_edit import set_params

WORKSPACES = "runs"
REPLACE = "IMDB_RNN_REPLACE_PUBLISHED"
# What a workspace needs to run the pipeline: the workflow, the package it imports (the stage
# table lists src/ files as code inputs) and the cluster profiles.
PIPELINE = ("Snakefile", "workflow", "src", "profiles")
PUBLISHED_PARAMS = "report/params.yaml"
LOCATION_KEYS = ("data.url", "data.sha256")
ARCHIVE = "data/aclImdb_v1.tar.gz"
SMOKE = {"data.limit": 2000, "train.epochs": 1}
SMOKE_TITLE = "Smoke run (2,000 reviews per split, 1 epoch, 1 seed): not the published results"


@dataclass(frozen=True)
class Run:
    """Where a run goes and why: ``root`` is the project itself or a workspace under runs/."""

    root: Path
    reason: str
    in_place: bool


def _flat(doc: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {prefix.rstrip("."): doc}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        out.update(_flat(value, f"{prefix}{key}."))
    return out


def published_params(project: Path) -> dict[str, Any] | None:
    """The params of the published report: report/params.yaml as committed (as on disk outside git)."""
    shown = subprocess.run(["git", "show", f"HEAD:{PUBLISHED_PARAMS}"], cwd=project, capture_output=True, text=True, check=False)
    text = shown.stdout if shown.returncode == 0 else None
    if text is None and (project / PUBLISHED_PARAMS).is_file():
        text = (project / PUBLISHED_PARAMS).read_text(encoding="utf-8")
    return load_params_doc(text) if text is not None else None


def load_params_doc(text: str) -> dict[str, Any]:
    """A params text as a mapping with every default filled in (validated)."""
    from imdb_rnn.config import parse_params

    return parse_params(yaml.safe_load(text), PUBLISHED_PARAMS).model_dump(mode="json")


def recipe_differences(project: Path) -> list[str]:
    """How params.yaml differs from the published recipe, as "key: published → here" (none: it is the recipe)."""
    published = published_params(project)
    if published is None:
        return ["no published run is recorded (report/params.yaml is missing)"]
    here = load_params(project / "params.yaml").model_dump(mode="json")
    theirs, ours = _flat(published), _flat(here)
    return [
        f"{key}: {theirs.get(key)} → {ours.get(key)}"
        for key in sorted(set(theirs) | set(ours))
        if key not in LOCATION_KEYS and theirs.get(key) != ours.get(key)
    ]


def plan(kind: str, project: Path) -> Run:
    """Where ``make try`` (kind "try") or ``make report`` (kind "report") runs."""
    if kind == "try":
        return Run(project / WORKSPACES / "try", "a smoke run: 2,000 reviews per split, 1 epoch, 1 seed", in_place=False)
    differences = recipe_differences(project)
    if not differences:
        return Run(project, "params.yaml is the published recipe", in_place=True)
    shown = "; ".join(differences[:3]) + (f"; and {len(differences) - 3} more" if len(differences) > 3 else "")
    return Run(project / WORKSPACES / "local", f"params.yaml differs from the published recipe ({shown})", in_place=False)


def _sync(source: Path, target: Path) -> None:
    """Copy ``source`` (a file or folder) to ``target``: changed files only, with their times."""
    if source.is_dir():
        for path in source.rglob("*"):
            if any(part == "__pycache__" or part.endswith(".egg-info") for part in path.parts):
                continue
            if path.is_file():
                _sync(path, target / path.relative_to(source))
        return
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _absolute_location(url: str, project: Path) -> str:
    """A local archive path relative to the project, made absolute (the workspace is elsewhere)."""
    if "://" in url or Path(url).is_absolute():
        return url
    return str((project / url).resolve())


def prepare_workspace(run: Run, project: Path, smoke: bool) -> None:
    """Copy the pipeline into the workspace and write its params.yaml (see the module docstring)."""
    root = run.root
    for name in PIPELINE:
        if (project / name).exists():
            _sync(project / name, root / name)
    (root / "results" / "experiments").mkdir(parents=True, exist_ok=True)
    params = root / "params.yaml"
    shutil.copyfile(project / "params.yaml", params)
    current = load_params(params)
    overrides: dict[str, Any] = {"data.url": _absolute_location(current.data.url, project)}
    if smoke:
        limit = current.data.limit
        overrides |= {
            "data.limit": str(min(limit, SMOKE["data.limit"]) if limit else SMOKE["data.limit"]),
            "train.epochs": str(SMOKE["train.epochs"]),
            "train.seeds": f"[{current.train.seed}]",
            "report.title": SMOKE_TITLE,
        }
    set_params(params, overrides)
    archive = project / ARCHIVE
    if archive.is_file() and not (root / ARCHIVE).exists():
        (root / ARCHIVE).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(archive, root / ARCHIVE)
        except OSError:
            shutil.copy2(archive, root / ARCHIVE)


def command(cores: str) -> list[str]:
    """The Snakemake command a run executes (in its root)."""
    return ["snakemake", "--cores", cores]


def announce(run: Run) -> str:
    where = "here, in results/ and report/" if run.in_place else f"in {run.root}/ (the published results in results/ and report/ stay as they are)"
    return f"{run.reason}: this run goes {where}"


def check_kind(kind: str) -> str:
    if kind not in ("try", "report"):
        raise UserError(f"unknown run {kind!r}: use try or report")
    return kind


def _git_toplevel(folder: Path) -> Path | None:
    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True, check=False)
    return Path(done.stdout.strip()).resolve() if done.returncode == 0 else None


def guard(folder: str | os.PathLike[str] = ".") -> None:
    """Refuse (UserError) a run that would replace the published results with other params' (see the module docstring)."""
    folder = Path(folder).resolve()
    if os.environ.get(REPLACE) == "1" or _git_toplevel(folder) != folder or "exps" in folder.parts and ".dvc" in folder.parts:
        return
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", PUBLISHED_PARAMS], cwd=folder, capture_output=True, check=False)
    if tracked.returncode != 0:
        return  # no published run is committed here
    differences = recipe_differences(folder)
    if differences:
        shown = "; ".join(differences[:2]) + (f"; and {len(differences) - 2} more" if len(differences) > 2 else "")
        raise UserError(
            f"params.yaml differs from the published recipe ({shown}): a run here would replace the published results in "
            f"results/ and report/; run `make report` (it runs in runs/local/), or `dvc exp run --temp`, or set {REPLACE}=1 "
            "to replace them on purpose (`git checkout -- results report dvc.lock` brings them back)"
        )
