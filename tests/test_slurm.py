"""The pipeline on a real one-node SLURM cluster, through the project's SLURM profile.

    .venv/bin/python -m pytest -q tests/test_slurm.py

`tests/slurm_cluster.sh start` installs SLURM, munge, slurmdbd and MariaDB with apt-get where
they are missing and starts them on this machine (as root; other users run it through
`sudo -n`). The test runs `snakemake --profile profiles/slurm-test` on the tiny project and
reads SLURM's own accounting (sacct) of the jobs; `tests/slurm_cluster.sh stop` stops every
daemon afterwards, whatever happened. Skipped only where there is no apt-get to install the
cluster with.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
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


def _cluster(command: str, timeout: int) -> subprocess.CompletedProcess:
    """`tests/slurm_cluster.sh COMMAND` as root: through `sudo -n` for any other user (e.g. a CI runner)."""
    cmd = [str(CLUSTER), command]
    if os.geteuid() != 0:
        cmd = ["sudo", "-n", "env", f"IMDB_SLURM_DIR={CLUSTER_DIR}", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def slurm_env() -> dict[str, str]:
    """A running test cluster, stopped again after the module's tests; the environment that reaches it."""
    if shutil.which("apt-get") is None:
        pytest.skip("no apt-get: tests/slurm_cluster.sh installs SLURM, munge and MariaDB from Debian/Ubuntu packages")
    try:
        started = _cluster("start", timeout=900)  # apt-get may have to install the packages first
        if started.returncode != 0:
            pytest.fail(f"tests/slurm_cluster.sh start failed:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}")
        yield {**env(), "SLURM_CONF": str(CLUSTER_DIR / "etc/slurm.conf")}
    finally:
        stopped = _cluster("stop", timeout=120)
    assert stopped.returncode == 0, f"tests/slurm_cluster.sh stop failed:\n{stopped.stdout}\n{stopped.stderr}"
    assert not CLUSTER_DIR.exists()


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
