"""The code version recorded with each training run: HEAD, marked +dirty on code changes only."""

from __future__ import annotations

import subprocess
from pathlib import Path

from imdb_rnn.provenance import DIRTY, code_version, git_commit


def git(folder: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_code_version_names_head_and_marks_code_changes_only(tmp_path):
    assert git_commit(tmp_path) == code_version(tmp_path) == "unknown"

    git(tmp_path, "init", "-q")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text("A = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "metrics.json").write_text("{}\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    head = git(tmp_path, "rev-parse", "HEAD")
    assert git_commit(tmp_path) == code_version(tmp_path) == head

    # Results and untracked files are not code: still clean.
    (tmp_path / "results" / "metrics.json").write_text('{"test_acc": 0.9}\n')
    (tmp_path / "src" / "scratch.py").write_text("B = 2\n")
    assert code_version(tmp_path) == head

    (tmp_path / "src" / "model.py").write_text("A = 2\n")
    assert code_version(tmp_path) == head + DIRTY
