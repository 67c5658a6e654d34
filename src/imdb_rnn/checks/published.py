"""The published run's own record, read as committed: dvc.lock and the runs' metrics at a git revision.

    from imdb_rnn.checks.published import published_record
    record = published_record(Path("."))            # dvc.lock and results/runs at HEAD
    record.lock["stages"]["report"]["params"]        # the whole params file the run used
    record.run("results/runs/rnn1/seed1234/metrics.json")   # its bytes at HEAD, or None

The workspace's copies are not the record: `dvc exp run`, `dvc repro` or `dvc commit` rewrite
dvc.lock, and any local run (`make report` on a subset) rewrites results/runs, so a check that
read them would compare a machine with the user's own run and call that the published one.
git holds what was published; :func:`workspace_drift` says where the workspace has left it.
Explicit files (``lock``, ``runs``) replace either half, for a record kept elsewhere.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imdb_rnn.errors import UserError

LOCK = "dvc.lock"
RUNS = "results/runs"


@dataclass(frozen=True)
class Record:
    """dvc.lock as a mapping, a reader of any file it records under results/runs, and where both came from."""

    lock: dict[str, Any]
    run: Callable[[str], bytes | None]
    lock_source: str
    runs_source: str
    # The revision both halves were read at (None when either is a file): what the workspace is compared with.
    rev: str | None = None

    @property
    def source(self) -> str:
        """Where the record comes from, in words."""
        if self.rev is not None:
            return f"{LOCK} and {self.runs_source}"
        return f"{self.lock_source} and {self.runs_source}"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=60, check=False)
    except OSError:
        raise UserError("git is not installed; the published run is read from the git history (or name the files: --lock, --runs)") from None


def resolve(root: Path, rev: str) -> str:
    """The commit ``rev`` names, with a one-line error outside a git checkout or for an unknown revision."""
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if done.returncode != 0:
        if _git(root, "rev-parse", "--git-dir").returncode != 0:
            raise UserError(
                f"{root.resolve()}: not a git checkout; the published run is its committed dvc.lock and results/runs, "
                "so run this in a clone of the project (or name the files: --lock, --runs)"
            )
        raise UserError(f"{rev}: no such commit here; name a commit that holds a published run (default HEAD)")
    return done.stdout.decode().strip()


def committed(root: Path, commit: str, path: str) -> bytes | None:
    """``path`` (relative to ``root``) as committed at ``commit``; None where that commit has no such file."""
    done = _git(root, "show", f"{commit}:./{path}")
    return done.stdout if done.returncode == 0 else None


def parse_lock(text: bytes | str, source: str) -> dict[str, Any]:
    """dvc.lock's text as a mapping, with one line when it is not a lock."""
    try:
        lock = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError):
        raise UserError(f"{source}: not a readable dvc.lock") from None
    if not isinstance(lock, dict) or not isinstance(lock.get("stages"), dict):
        raise UserError(f"{source}: holds no stages, so it records no run")
    return lock


def load_lock(path: Path) -> dict[str, Any]:
    """A dvc.lock file as a mapping, with a clear error when it is missing or not a lock."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: not found; name the dvc.lock that records the run to compare with") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder; pass the dvc.lock file") from None
    return parse_lock(text, str(path))


def published_record(root: Path, rev: str = "HEAD", lock: Path | None = None, runs: Path | None = None) -> Record:
    """The run to compare with: dvc.lock and results/runs as committed at ``rev`` in the checkout at
    ``root``, or the files ``lock`` / folder ``runs`` (laid out as results/runs) where given."""
    commit = resolve(root, rev) if lock is None or runs is None else None
    at = f"{rev} ({commit[:10]})" if commit else ""
    if lock is None:
        text = committed(root, commit, LOCK)
        if text is None:
            raise UserError(f"{rev} ({commit[:10]}) has no committed dvc.lock, so it records no published run; name a commit that does (--rev)")
        parsed = parse_lock(text, f"dvc.lock at {at}")
    else:
        parsed = load_lock(lock)
    if runs is None:

        def read(path: str) -> bytes | None:
            return committed(root, commit, path)

    else:

        def read(path: str) -> bytes | None:
            file = runs / Path(path).relative_to(RUNS)
            return file.read_bytes() if file.is_file() else None

    lock_words = f"dvc.lock as committed at {at}" if lock is None else str(lock)
    runs_words = f"{RUNS} as committed at {at}" if runs is None else str(runs)
    return Record(parsed, read, lock_words, runs_words, rev if lock is None and runs is None else None)


def lock_outs(lock: dict[str, Any], stage: str | None = None) -> dict[str, str]:
    """{path: md5} of one stage's outputs in the lock, or of every stage's (``stage`` None)."""
    found: dict[str, str] = {}
    for name, entry in lock["stages"].items():
        if stage is not None and name != stage:
            continue
        outs = entry.get("outs", []) if isinstance(entry, dict) else []
        if isinstance(outs, list):
            found |= {str(out["path"]): str(out.get("md5", "")) for out in outs if isinstance(out, dict) and "path" in out}
    return found


def workspace_drift(record: Record, root: Path, run_paths: list[str]) -> list[str]:
    """Where the workspace at ``root`` no longer holds the committed record, in words (empty when
    it does, or when the record is not a commit's)."""
    if record.rev is None:
        return []
    notes = []
    workspace_lock = root / LOCK
    commit = resolve(root, record.rev)
    if not workspace_lock.is_file() or workspace_lock.read_bytes() != committed(root, commit, LOCK):
        notes.append(
            f"the workspace's dvc.lock is not the one committed at {record.rev} (a `dvc exp run`, `dvc repro` or "
            "`dvc commit` since rewrote it): it records another run, and this check ignores it"
        )
    changed = [p for p in run_paths if not (root / p).is_file() or (root / p).read_bytes() != record.run(p)]
    if changed:
        notes.append(
            f"{RUNS} in the workspace no longer holds the published runs ({len(changed)} of {len(run_paths)} records differ, "
            f"e.g. {changed[0]}: a local run since rewrote them; `git checkout {record.rev} -- {RUNS}` restores them): "
            "this check ignores them"
        )
    return notes
