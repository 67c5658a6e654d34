"""Which code produced a result: the git commit of the working tree, marked when it had changes.

    from imdb_rnn.provenance import code_version
    code_version()   # "6a3d2a5c…" or "6a3d2a5c…+dirty"; "unknown" outside a git checkout

Training records it in each run's metrics and the report prints it beside the commit that
rendered the report, so a published number names the code that trained it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

# Changes here alter what the stages compute; results/, report/ and params.yaml do not
# (params are recorded on their own, and results are what the stages write).
CODE_PATHS = ("src", "workflow", "Snakefile", "dvc.yaml", "pyproject.toml")
DIRTY = "+dirty"


def _git(args: list[str], cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=False, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(cwd: Path | None = None) -> str:
    """HEAD's full hash, or "unknown" (no git, or not a checkout)."""
    return _git(["rev-parse", "HEAD"], cwd) or "unknown"


def code_version(cwd: Path | None = None) -> str:
    """HEAD's hash, with ``+dirty`` when tracked code under :data:`CODE_PATHS` differs from it."""
    commit = git_commit(cwd)
    if commit == "unknown":
        return commit
    changes = _git(["status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS], cwd)
    return commit + DIRTY if changes else commit
