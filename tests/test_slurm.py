"""The pipeline on a real one-node SLURM cluster, through the project's SLURM profile.

    sudo tests/slurm_cluster.sh start        # needs slurm-wlm, munge, slurmdbd, mariadb-server
    IMDB_TEST_SLURM=1 .venv/bin/python -m pytest -q tests/test_slurm.py
    sudo tests/slurm_cluster.sh stop

The cluster test runs only where it is asked for (IMDB_TEST_SLURM=1, as .ci/run sets after it
installs the packages and starts the cluster), so that `make test` never installs packages,
needs root or starts daemons; elsewhere it is skipped with that instruction. It runs
`snakemake --profile profiles/slurm-test` on the tiny project and reads SLURM's own accounting
(sacct) of the jobs. The profile test needs no cluster and always runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, TIMING_KEYS
from test_workflow import env, project_copy

CLUSTER = ROOT / "tests/slurm_cluster.sh"
CLUSTER_DIR = Path(os.environ.get("IMDB_SLURM_DIR", "/tmp/imdb-slurm"))
ARCHS = ("bilstm2", "birnn2", "birnn1", "rnn1")
# The tanh RNNs keep one thread; their numbers are compared bit for bit with a local run.
RNNS = ("rnn1", "birnn1", "birnn2")
SEED = 1234
# One SLURM job per job of the tiny project's DAG (all but `all`), named by the comment the
# executor gives it: the rule, then its wildcards.
EXPECTED_JOBS = sorted(
    [f"rule_{rule}" for rule in ("download", "gradcheck", "prepare", "embed", "summarize", "report", "pdf")]
    + [f"rule_train_wildcards_{arch}_{SEED}" for arch in ARCHS]
    + [f"rule_diagnose_wildcards_{arch}" for arch in ARCHS]
)


# Set by whoever started the test cluster (.ci/run): the cluster test runs only then.
OPT_IN = "IMDB_TEST_SLURM"
SKIP_REASON = (
    f"needs a running test SLURM cluster: as root, tests/slurm_cluster.sh start (slurm-wlm, munge, slurmdbd, "
    f"mariadb-server installed), then {OPT_IN}=1 pytest tests/test_slurm.py; .ci/run does this"
)


@pytest.fixture(scope="module")
def slurm_env() -> dict[str, str]:
    """The environment that reaches the running test cluster; the test is skipped unless asked for."""
    if os.environ.get(OPT_IN) != "1":
        pytest.skip(SKIP_REASON)
    status = subprocess.run([str(CLUSTER), "status"], env={**os.environ, "IMDB_SLURM_DIR": str(CLUSTER_DIR)}, capture_output=True, text=True)
    if status.returncode != 0:
        pytest.fail(f"{OPT_IN}=1 but no test cluster runs in {CLUSTER_DIR} (tests/slurm_cluster.sh status):\n{status.stdout}{status.stderr}")
    return {**env(), "SLURM_CONF": str(CLUSTER_DIR / "etc/slurm.conf")}


def _sacct(job_ids: list[str], slurm: dict[str, str]) -> list[dict[str, str]]:
    """SLURM's accounting record of the jobs and of their steps, one dict per row."""
    fields = ["JobIdRaw", "JobName", "Comment", "State", "Partition", "AllocCPUS", "ExitCode"]
    done = subprocess.run(
        ["sacct", "--jobs", ",".join(job_ids), "--parsable2", "--noheader", f"--format={','.join(fields)}"],
        env=slurm,
        capture_output=True,
        text=True,
        check=True,
    )
    return [dict(zip(fields, line.split("|"), strict=False)) for line in done.stdout.splitlines()]


def _metrics(project: Path, arch: str) -> dict:
    return json.loads((project / f"results/runs/{arch}/seed{SEED}/metrics.json").read_text())


def test_the_test_profile_is_the_real_one_but_for_the_clusters_shape():
    """profiles/slurm-test may differ from profiles/slurm only in resources and status-check timing,
    so that what the SLURM test runs is what a real cluster gets."""
    real, test = (yaml.safe_load((ROOT / f"profiles/{name}/config.yaml").read_text()) for name in ("slurm", "slurm-test"))
    shape = {"default-resources", "set-resources", "slurm-init-seconds-before-status-checks"}
    assert {k: v for k, v in test.items() if k not in shape} == {k: v for k, v in real.items() if k not in shape}
    assert set(test["default-resources"]) == set(real["default-resources"])
    assert set(test["set-resources"]) <= set(real["set-resources"])
    assert "gres" not in test["set-resources"]["train"]  # the test cluster has no GPU


@pytest.mark.slow
def test_the_pipeline_runs_as_slurm_jobs_and_trains_the_rnns_as_a_local_run_does(slurm_env, tiny_archive, tmp_path):
    archive, sha = tiny_archive
    local = project_copy(tmp_path / "local", archive, sha)
    # A copy of the same commit, so that both runs record the same code_version.
    cluster = tmp_path / "cluster"
    shutil.copytree(local, cluster, symlinks=True)

    # The local reference trains the RNNs beside the cluster's jobs, one thread each like them.
    targets = [f"results/runs/{arch}/seed{SEED}/metrics.json" for arch in RNNS]
    with subprocess.Popen(
        ["snakemake", "--cores", "1", *targets], cwd=local, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as reference:
        done = subprocess.run(
            ["snakemake", "--profile", "profiles/slurm-test"], cwd=cluster, env=slurm_env, capture_output=True, text=True, timeout=600
        )
        reference_output = reference.communicate(timeout=600)[0]
    assert reference.returncode == 0, reference_output[-3000:]
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]

    # (a) Every job but the target rule `all` was a SLURM job of this run, and SLURM ran it.
    assert re.findall(r"^localrule (\w+):", output, re.MULTILINE) == ["all"]
    run_id = re.search(r"SLURM run ID: (\S+)", output)
    assert run_id, output[-5000:]
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", output)
    assert len(submitted) == len(EXPECTED_JOBS), output[-5000:]
    rows = _sacct(submitted, slurm_env)
    jobs = [row for row in rows if "." not in row["JobIdRaw"]]
    assert sorted(job["JobIdRaw"] for job in jobs) == sorted(submitted)
    assert sorted(job["Comment"] for job in jobs) == EXPECTED_JOBS
    for job in jobs:
        assert (job["JobName"], job["State"], job["Partition"], job["AllocCPUS"], job["ExitCode"]) == (
            run_id.group(1),
            "COMPLETED",
            "test",
            "1",
            "0:0",
        ), job
    # Inside each allocation the executor's job step ran the rule with srun: step 0.
    steps = {row["JobIdRaw"]: row["State"] for row in rows if row["JobIdRaw"].endswith(".0")}
    assert steps == {f"{job_id}.0": "COMPLETED" for job_id in submitted}

    # (b) The outputs are there.
    assert (cluster / "report/report.md").read_text().startswith("# Assignment2 Report")
    for arch in ARCHS:
        assert _metrics(cluster, arch)["epochs"] == 1

    # (c) The RNNs trained under SLURM equal the local run's to the last bit (weights'
    # fingerprints, losses, accuracies), under the same pinned numeric kernels.
    for arch in RNNS:
        on_cluster, at_home = _metrics(cluster, arch), _metrics(local, arch)
        assert on_cluster["numerics"] == at_home["numerics"]
        assert on_cluster["numerics"]["setting"] == "avx2"
        assert (on_cluster["threads"], on_cluster["max_threads"]) == (1, 1)
        strip = lambda metrics: {k: v for k, v in metrics.items() if k not in TIMING_KEYS}  # noqa: E731
        assert strip(on_cluster) == strip(at_home), arch


def _recording_tools(folder: Path, log: Path, names: tuple[str, ...]) -> Path:
    """Stand-ins for ``names`` that only write their command line to ``log``."""
    folder.mkdir()
    for name in names:
        tool = folder / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\nexit 1\n')
        tool.chmod(0o755)
    return folder


def test_without_the_opt_in_the_cluster_test_skips_and_installs_or_starts_nothing(tmp_path):
    """What `make test` does for any user: no sudo, no apt-get, no daemon; one line saying what the test needs."""
    log = tmp_path / "called.log"
    fakes = _recording_tools(tmp_path / "bin", log, ("sudo", "apt-get", "munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd"))
    environ = {key: value for key, value in os.environ.items() if key != OPT_IN}
    environ |= {"PATH": f"{fakes}{os.pathsep}{environ['PATH']}", "IMDB_SLURM_DIR": str(tmp_path / "cluster")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/test_slurm.py", "-k", "runs_as_slurm_jobs"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 skipped" in done.stdout and SKIP_REASON in done.stdout.replace("\n", ""), done.stdout[-3000:]
    assert not log.exists(), log.read_text()
    assert not (tmp_path / "cluster").exists()


def test_the_cluster_script_installs_nothing(tmp_path):
    """`tests/slurm_cluster.sh start` where SLURM is missing: one line naming the packages, and no apt-get."""
    log = tmp_path / "called.log"
    fakes = _recording_tools(tmp_path / "bin", log, ("apt-get", "sudo"))
    path = os.pathsep.join([str(fakes), "/usr/bin", "/bin"])
    if shutil.which("slurmctld", path=path):
        pytest.skip("slurmctld is on /usr/bin here: the script would start a cluster, not refuse")
    environ = {**os.environ, "PATH": path, "IMDB_SLURM_DIR": str(tmp_path / "cluster")}
    done = subprocess.run([str(CLUSTER), "start"], env=environ, capture_output=True, text=True)
    assert done.returncode == 1
    expected = "missing mariadb-server munge slurm-wlm slurmdbd; install them first" if os.geteuid() == 0 else "run as root"
    assert expected in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not log.exists(), log.read_text()
    assert not (tmp_path / "cluster").exists()
