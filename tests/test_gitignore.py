"""What a user is told to make and what the tools leave behind stays out of `git status`."""

from __future__ import annotations

import subprocess

import pytest

from conftest import ROOT


@pytest.mark.parametrize(
    "path",
    [
        "report/snakemake-report.html",  # snakemake --report report/snakemake-report.html (docs/experiments.md)
        "report.html",  # snakemake --report report.html, as Snakemake's own docs write it
        "dvc_plots/index.html",  # dvc plots show, dvc plots diff
        "dvc-storage/files/md5/00/0",  # the default local remote (dvc push)
        ".dvc/config.local",  # dvc remote add --local (pointing a clone at a hosted remote)
    ],
)
def test_a_page_or_remote_a_user_makes_is_ignored(path):
    done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)
    assert done.returncode == 0, f"{path} would show in git status"
