"""verify: what it compares with (the run as committed, never the workspace's copies) and what it reports.

The fast tests build small git repositories by hand; the slow ones run tools/verify.py on the
tiny published project (conftest.published_project).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from imdb_rnn.checks.published import load_lock, lock_outs, published_record, workspace_drift
from imdb_rnn.checks.verify import environment_differences, run_record
from imdb_rnn.errors import UserError, run_cli

from conftest import load_script
from fake_results import NUMERICS

RUN = "results/runs/rnn1/seed1234/metrics.json"
ALL_CHECKS = (
    "packages and kernels",
    "archive",
    "prepared data",
    "word vectors",
    *(f"training {a} (seed 1234)" for a in ("bilstm2", "birnn2", "birnn1", "rnn1")),
)


def test_kernel_variables_compare_as_the_libraries_read_them():
    here = {**NUMERICS, "env": {**NUMERICS["env"], "MKL_CBWR": "avx2", "OPENBLAS_CORETYPE": "haswell"}}
    assert environment_differences(NUMERICS, here) == []
    other = {**NUMERICS, "env": {**NUMERICS["env"], "MKL_CBWR": "COMPATIBLE"}}
    assert environment_differences(NUMERICS, other) == ["MKL_CBWR=COMPATIBLE here, AVX2 published"]
    assert environment_differences(None, here) == ["the published run recorded no packages or kernels (it predates that record)"]


def test_a_lock_that_is_a_folder_or_malformed_is_one_line(tmp_path):
    with pytest.raises(UserError, match="is a folder; pass the dvc.lock file"):
        load_lock(tmp_path)
    lock = tmp_path / "dvc.lock"
    lock.write_text("schema: '2.0'\nstages:\n  prepare: 3\n  embed:\n    outs: oops\n")
    assert lock_outs(load_lock(lock), "prepare") == {} and lock_outs(load_lock(lock), "embed") == {}


def test_work_folder_must_be_empty(tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.txt").write_text("a user's file")
    code = run_cli(load_script("verify").main, ["--work", str(work), "--lock", str(tmp_path / "dvc.lock")])
    assert code == 2 and "not empty; verify writes prepared data there" in capsys.readouterr().err
    assert (work / "mine.txt").read_text() == "a user's file"


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=folder, check=True, capture_output=True)


def _lock(archs: list[str], metrics: bytes) -> str:
    """A dvc.lock as DVC writes one: the report stage's whole params file, a run's record's md5."""
    stages = {
        "train@rnn1-1234": {"outs": [{"path": RUN, "hash": "md5", "md5": hashlib.md5(metrics).hexdigest()}]},
        "report": {"params": {"params.yaml": {"train": {"archs": archs, "seed": 1234, "seeds": [1234]}}}},
    }
    return yaml.safe_dump({"schema": "2.0", "stages": stages})


def _published(folder: Path) -> bytes:
    """A git repository whose HEAD holds a published run's dvc.lock and one run record."""
    metrics = json.dumps({"fingerprints": {"early": {"batches": 50, "state": "a" * 64}}}).encode()
    (folder / "results/runs/rnn1/seed1234").mkdir(parents=True)
    (folder / RUN).write_bytes(metrics)
    (folder / "dvc.lock").write_text(_lock(["bilstm2", "rnn1"], metrics))
    _git(folder, "init", "-q")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-qm", "publish")
    return metrics


def test_the_record_is_the_commits_not_the_workspaces(tmp_path):
    """After a `dvc exp run` rewrote dvc.lock and a local run rewrote results/runs, the record is
    still the committed run, and the workspace's departures are named."""
    published = _published(tmp_path)
    assert published_record(tmp_path).source.startswith("dvc.lock and results/runs as committed at HEAD (")
    assert workspace_drift(published_record(tmp_path), tmp_path, [RUN]) == []

    ours = json.dumps({"fingerprints": {"early": {"batches": 50, "state": "b" * 64}}}).encode()
    (tmp_path / RUN).write_bytes(ours)
    (tmp_path / "dvc.lock").write_text(_lock(["rnn1"], ours))
    record = published_record(tmp_path)
    assert record.lock["stages"]["report"]["params"]["params.yaml"]["train"]["archs"] == ["bilstm2", "rnn1"]
    assert record.run(RUN) == published
    assert run_record(record, RUN) == (json.loads(published), "")
    notes = workspace_drift(record, tmp_path, [RUN])
    assert len(notes) == 2
    assert notes[0].startswith("the workspace's dvc.lock is not the one committed at HEAD")
    assert notes[1].startswith("results/runs in the workspace no longer holds the published runs (1 of 1 records differ")
    assert "`git checkout HEAD -- results/runs` restores them" in notes[1]


def test_a_run_record_that_is_not_the_locks_is_named_not_compared(tmp_path):
    """The workspace's results/runs after a local run, passed as --runs: the cause is named (it
    is another run), not guessed (a reinstall)."""
    _published(tmp_path)
    (tmp_path / RUN).write_text('{"fingerprints": {}}')
    metrics, problem = run_record(published_record(tmp_path, runs=tmp_path / "results/runs"), RUN)
    assert metrics is None
    assert problem.startswith(f"{RUN} (read from {tmp_path / 'results/runs'}) is not the run dvc.lock records (md5 ")
    assert problem.endswith("pass the published runs with --runs, or leave --runs out to read them as committed")
    metrics, problem = run_record(published_record(tmp_path), "results/runs/birnn1/seed1234/metrics.json")
    assert metrics is None and problem.startswith("no published run: results/runs as committed at HEAD (")


def test_no_git_checkout_or_no_committed_lock_is_one_line(tmp_path):
    with pytest.raises(UserError, match="not a git checkout; the published run is its committed dvc.lock and results/runs"):
        published_record(tmp_path)
    _git(tmp_path, "init", "-q")
    (tmp_path / "dvc.lock").write_text("stages: {}\n")  # in the workspace only
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "nothing published")
    with pytest.raises(UserError, match=r"HEAD \(\w+\) has no committed dvc.lock, so it records no published run"):
        published_record(tmp_path)
    with pytest.raises(UserError, match="nosuchrev: no such commit here"):
        published_record(tmp_path, "nosuchrev")


# --------------------------------------------------------------------------- end to end


def _verify(project: Path, *args: str, **environ: str) -> subprocess.CompletedProcess:
    from test_workflow import env

    return subprocess.run([sys.executable, "tools/verify.py", *args], cwd=project, env={**env(), **environ}, capture_output=True, text=True)


@pytest.mark.slow
def test_verify_reproduces_the_published_run_and_names_what_differs(published_project, tmp_path):
    """verify recomputes the published run's data, vectors and first training steps; a kernel
    setting kept from the environment and a damaged record are each named."""
    from test_workflow import run

    same = _verify(published_project)
    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout.startswith("verify: the published run is dvc.lock and results/runs as committed at HEAD (")
    assert "note:" not in same.stdout
    for check in ALL_CHECKS:
        assert f"{check}: identical" in same.stdout, same.stdout
    assert "this machine reproduces the published run (8 checks identical, numerics.cpu: avx2)" in same.stdout

    kept = _verify(published_project, "--archs", "rnn1", MKL_CBWR="COMPATIBLE")
    assert kept.returncode == 1, kept.stdout + kept.stderr
    assert "packages and kernels: DIFFERS — MKL_CBWR=COMPATIBLE here, AVX2 published" in kept.stdout
    assert "training rnn1 (seed 1234): DIFFERS" in kept.stdout and "likely cause: MKL_CBWR=COMPATIBLE here, AVX2 published" in kept.stdout
    assert "MKL_CBWR=COMPATIBLE is set in the environment and kept" in kept.stderr

    # A record whose fingerprint differs from this machine's (the lock names it, so it is compared).
    runs, lock = tmp_path / "runs", tmp_path / "dvc.lock"
    shutil.copytree(published_project / "results/runs", runs)
    record = runs / "birnn1/seed1234/metrics.json"
    metrics = json.loads(record.read_text())
    metrics["fingerprints"]["early"]["state"] = "0" * 64
    record.write_text(json.dumps(metrics))
    text = (published_project / "dvc.lock").read_text()
    old = lock_outs(yaml.safe_load(text))["results/runs/birnn1/seed1234/metrics.json"]
    lock.write_text(text.replace(old, hashlib.md5(record.read_bytes()).hexdigest()))
    (runs / "rnn1/seed1234/metrics.json").unlink()
    damaged = _verify(published_project, "--lock", str(lock), "--runs", str(runs), "--archs", "birnn1", "rnn1")
    assert damaged.returncode == 1
    assert f"verify: the published run is {lock} and {runs}\n" in damaged.stdout
    assert "training birnn1 (seed 1234): DIFFERS — weights after" in damaged.stdout
    assert f"training rnn1 (seed 1234): NOT CHECKED — no published run: {runs} holds no results/runs/rnn1/seed1234/metrics.json" in damaged.stdout

    # The Snakemake target runs the same program and passes its exit status on.
    target = run(["snakemake", "--cores", "1", "verify"], published_project)
    assert "this machine reproduces the published run" in (published_project / "logs/verify/verify.log").read_text(), target.stderr[-2000:]


@pytest.mark.slow
def test_verify_compares_with_the_committed_run_whatever_the_workspace_holds(published_project, tmp_path):
    """The workspace as a `dvc exp run -S train.archs=[rnn1]` leaves dvc.lock (the report stage
    records the subset's params) and a local run leaves results/runs (another run's record):
    verify still checks all of the published run, and says where the workspace has left it."""
    project = tmp_path / "project"
    shutil.copytree(published_project, project, symlinks=True)
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    lock["stages"]["report"]["params"]["params.yaml"]["train"]["archs"] = ["rnn1"]
    (project / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))
    record = project / RUN
    metrics = json.loads(record.read_text())
    metrics["fingerprints"]["early"]["state"] = "0" * 64
    record.write_text(json.dumps(metrics))

    done = _verify(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "note: the workspace's dvc.lock is not the one committed at HEAD" in done.stdout
    assert "note: results/runs in the workspace no longer holds the published runs (1 of 4 records differ, e.g. " + RUN in done.stdout
    for check in ALL_CHECKS:
        assert f"{check}: identical" in done.stdout, done.stdout
    assert "this machine reproduces the published run (8 checks identical, numerics.cpu: avx2)" in done.stdout

    # Told to read the workspace's runs, it names the cause: they are another run's.
    local = _verify(project, "--runs", "results/runs", "--archs", "rnn1")
    assert local.returncode == 1
    assert f"training rnn1 (seed 1234): NOT CHECKED — {RUN} (read from results/runs) is not the run dvc.lock records" in local.stdout
    assert "reinstall" not in local.stdout
