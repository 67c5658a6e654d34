"""The two tools in one folder, for real on the tiny archive: a run started while the other
tool's run holds the folder is refused, each tool sees the other's finished work as done, and
a queued experiment finds a data.url given relative to the project."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from imdb_rnn.params_edit import set_params

from test_workflow import env, project_copy, run, run_queue

pytestmark = pytest.mark.slow

GRADCHECK = "results/triplet/verification.json"
SNAKEMAKE_GRADCHECK = ["snakemake", "--cores", "1", "--forcerun", "gradcheck", "--", GRADCHECK]
DVC_GRADCHECK = ["dvc", "repro", "--force", "--single-item", "gradcheck"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from imdb_fixture import make_archive

    archive = tmp_path_factory.mktemp("archive") / "tiny.tar.gz"
    return archive, str(make_archive(archive)["sha256"])


def _rwlock(project: Path) -> dict:
    try:
        return json.loads((project / ".dvc/tmp/rwlock").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _holds(project: Path, pid: int) -> bool:
    """Whether process ``pid`` (or DVC on its behalf) is in the folder's rwlock."""
    table = _rwlock(project)
    infos = [*table.get("write", {}).values(), *(i for v in table.get("read", {}).values() for i in v)]
    return any(info.get("pid") == pid for info in infos)


@pytest.mark.parametrize("first", ["snakemake", "dvc"])
def test_a_run_started_while_the_other_tool_runs_is_refused_in_one_line(tmp_path, tiny, first):
    project = project_copy(tmp_path / "project", *tiny)
    run(["snakemake", "--cores", "1", "--", GRADCHECK], project)
    before = (project / GRADCHECK).read_bytes()
    started, second = (SNAKEMAKE_GRADCHECK, DVC_GRADCHECK) if first == "snakemake" else (DVC_GRADCHECK, SNAKEMAKE_GRADCHECK)
    holder = subprocess.Popen(started, cwd=project, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while holder.poll() is None and not _holds(project, holder.pid):
        time.sleep(0.05)
    assert holder.poll() is None, "the first run ended before the second could start"
    refused = subprocess.run(second, cwd=project, env=env(), capture_output=True, text=True)
    still_running = holder.poll() is None
    output = holder.communicate()[0]
    assert holder.returncode == 0, output[-3000:]
    assert still_running, "the first run ended while the second was being refused"
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    if first == "snakemake":
        # DVC's own refusal, before it touched a file, names the Snakemake run
        assert f"(PID {holder.pid}): snakemake --cores 1 --forcerun gradcheck -- {GRADCHECK} (a Snakemake run holds this workspace" in said
    else:
        assert refused.returncode == 2
        errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
        assert errors == [
            f"error: this workspace is busy: `dvc {' '.join(DVC_GRADCHECK[1:])}` (pid {holder.pid}) is running in it; "
            "wait for it to end, or work in a separate clone of the project"
        ], refused.stderr
    assert json.loads((project / GRADCHECK).read_text())["all_numeric_checks_passed"] is True
    assert (project / GRADCHECK).read_bytes() == before  # the refused run changed nothing
    assert not _holds(project, holder.pid)  # and the first left the folder free


def test_each_tool_sees_the_other_s_finished_work_as_done(tmp_path, tiny):
    project = project_copy(tmp_path / "project", *tiny)
    built = ["results/runs/rnn1/seed1234/metrics.json", GRADCHECK]
    run(["snakemake", "--cores", "2", "--", *built], project)
    done = ["preflight", "download", "prepare", "embed", "train@rnn1-1234", "gradcheck"]
    status = json.loads(run(["dvc", "status", "--json", *done], project).stdout or "{}")
    assert status == {}, status
    # what Snakemake did not build, DVC still has to do
    assert "train@bilstm2-1234" in json.loads(run(["dvc", "status", "--json"], project).stdout)

    # the other way round: DVC redoes gradcheck, and Snakemake has nothing left to do for it
    run(DVC_GRADCHECK, project)
    dry = run(["snakemake", "--cores", "1", "--dry-run", "--", *built], project)
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]


def test_a_queued_experiment_downloads_a_data_url_relative_to_the_project(tmp_path, tiny):
    archive, sha = tiny
    project = project_copy(tmp_path / "project", archive, sha)
    local = tmp_path / "shared" / "aclImdb_tiny.tar.gz"
    local.parent.mkdir()
    local.write_bytes(archive.read_bytes())
    set_params(project / "params.yaml", {"data.url": "../shared/aclImdb_tiny.tar.gz"})  # as the README's local-archive block
    run(["git", "commit", "-qam", "local archive"], project)
    run(["dvc", "exp", "run", "--queue", "download"], project)
    status = run_queue(project)
    assert status.count("Success") == 1, status
