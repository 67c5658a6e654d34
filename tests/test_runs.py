"""The published results are replaced only on purpose: make try, make report's workspace, the guard of both tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_rnn.errors import UserError
from imdb_rnn.params_edit import set_params
from imdb_rnn.pipeline.runs import REPLACE, SMOKE_TITLE, guard, plan, prepare_workspace, recipe_differences

from test_workflow import env

BIN = Path(sys.executable).parent


def copy_of(project: Path, dest: Path) -> Path:
    shutil.copytree(project, dest, symlinks=True)
    return dest


def tracked_changes(project: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_make_try_is_a_labelled_smoke_run_that_leaves_every_tracked_file_alone(published_project: Path, tmp_path: Path) -> None:
    project = copy_of(published_project, tmp_path / "project")
    # the tiny archive has 40 training reviews: a smoke run takes at most what params.yaml asks
    set_params(project / "params.yaml", {"data.limit": "20"})
    before = tracked_changes(project)
    done = subprocess.run([sys.executable, "tools/run.py", "try", "--cores", "1"], cwd=project, env=env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "a smoke run: 2,000 reviews per split, 1 epoch, 1 seed: this run goes in" in done.stdout
    assert "done in" in done.stdout and "runs/try/report/report.pdf" in done.stdout
    report = (project / "runs" / "try" / "report" / "report.md").read_text(encoding="utf-8")
    assert report.startswith(f"# {SMOKE_TITLE}\n") and "a sample of 20 reviews per archive split" in " ".join(report.split())
    assert tracked_changes(project) == before == " M params.yaml\n"
    # a second try continues in the same workspace and has nothing left to do
    again = subprocess.run([sys.executable, "tools/run.py", "try", "--cores", "1"], cwd=project, env=env(), capture_output=True, text=True)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_other_params_never_replace_the_published_results_under_either_tool(published_project: Path, tmp_path: Path) -> None:
    project = copy_of(published_project, tmp_path / "project")
    set_params(project / "params.yaml", {"train.lr": "0.003"})
    assert recipe_differences(project) == ["train.lr: 0.001 → 0.003"]
    before = tracked_changes(project)
    assert before == " M params.yaml\n"
    snake = subprocess.run([str(BIN / "snakemake"), "--cores", "1", "--forceall"], cwd=project, env=env(), capture_output=True, text=True)
    assert snake.returncode == 2
    assert "error: params.yaml differs from the published recipe (train.lr: 0.001 → 0.003)" in snake.stderr
    assert "make report" in snake.stderr and REPLACE in snake.stderr
    dvc = subprocess.run([str(BIN / "dvc"), "repro"], cwd=project, env=env(), capture_output=True, text=True)
    assert dvc.returncode != 0 and "differs from the published recipe" in dvc.stdout + dvc.stderr
    assert tracked_changes(project) == before  # neither tool replaced a published file
    # make report sends the run to a workspace of its own, and says so first
    plan_ = plan("report", project)
    assert not plan_.in_place and plan_.root == project / "runs" / "local" and "train.lr: 0.001 → 0.003" in plan_.reason
    # on purpose, a maintainer may replace them
    os.environ[REPLACE] = "1"
    try:
        guard(project)
    finally:
        del os.environ[REPLACE]


def test_the_guard_only_watches_the_project_s_own_folder(published_project: Path, tmp_path: Path) -> None:
    project = copy_of(published_project, tmp_path / "project")
    set_params(project / "params.yaml", {"train.lr": "0.003"})
    with pytest.raises(UserError, match=r"differs from the published recipe \(train.lr: 0.001 → 0.003\)"):
        guard(project)
    # a workspace under runs/ and a DVC experiment's temporary copy are not the published record
    inside = project / "runs" / "local"
    inside.mkdir(parents=True)
    guard(inside)
    experiment = project / ".dvc" / "tmp" / "exps" / "tmpabc"
    shutil.copytree(project, experiment, ignore=shutil.ignore_patterns(".dvc", "runs"))
    guard(experiment)
    # nor is a project with no published run committed
    bare = tmp_path / "bare"
    bare.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=bare, check=True)
    shutil.copy(project / "params.yaml", bare / "params.yaml")
    guard(bare)
    # the published recipe itself runs in place; where the archive is read from does not matter
    set_params(project / "params.yaml", {"train.lr": "0.001", "data.url": "/elsewhere/aclImdb_v1.tar.gz"})
    assert recipe_differences(project) == [] and plan("report", project).in_place
    guard(project)


def test_a_workspace_copies_the_pipeline_writes_smoke_params_and_reuses_the_archive(published_project: Path, tmp_path: Path) -> None:
    project = copy_of(published_project, tmp_path / "project")
    (project / "data").mkdir(exist_ok=True)
    run = plan("try", project)
    prepare_workspace(run, project, smoke=True)
    root = project / "runs" / "try"
    for name in ("Snakefile", "workflow/rules/train.smk", "src/imdb_rnn/config.py", "results/experiments"):
        assert (root / name).exists(), name
    assert not (root / "results" / "runs").exists() and not (root / "report").exists()
    from imdb_rnn.config import load_params

    smoke = load_params(root / "params.yaml")
    assert (smoke.data.limit, smoke.train.epochs, smoke.train.seeds, smoke.report.title) == (2000, 1, [1234], SMOKE_TITLE)
    # a relative local archive path is made absolute: the workspace is elsewhere
    set_params(project / "params.yaml", {"data.url": "data/aclImdb_v1.tar.gz"})
    (project / "data" / "aclImdb_v1.tar.gz").write_bytes(b"archive")
    stamp = (root / "Snakefile").stat().st_mtime_ns
    prepare_workspace(run, project, smoke=True)
    assert load_params(root / "params.yaml").data.url == str(project / "data" / "aclImdb_v1.tar.gz")
    assert (root / "data" / "aclImdb_v1.tar.gz").read_bytes() == b"archive"
    assert (root / "Snakefile").stat().st_mtime_ns == stamp  # unchanged files are not copied again
