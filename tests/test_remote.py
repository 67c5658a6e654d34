"""A DVC remote users can read: tools/publish_remote.py writes one, a web server serves it, a clone pulls.

The fast tests publish a small `dvc add` project (a file and a folder); the slow one publishes
the tiny published project (conftest.published_project), serves it over HTTP on 127.0.0.1,
clones the project, points the clone at the server as the docs say and runs `make pull`: DVC
then reports the clone up to date and Snakemake has nothing to do.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ROOT

PUBLISH = ROOT / "tools" / "publish_remote.py"
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1"}


def _run(cmd: list[str], cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    if ok:
        assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _git(cwd: Path, *args: str) -> None:
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd)


def _publish(project: Path, dest: Path, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, str(PUBLISH), "--dest", str(dest), *args], project, ok=False)


@contextlib.contextmanager
def _served(folder: Path):
    """``folder`` over HTTP on 127.0.0.1, as any static web server would serve it; yields its URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # the test's output is DVC's, not the server's
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _objects(remote: Path) -> list[str]:
    return sorted(str(p.relative_to(remote)) for p in remote.rglob("*") if p.is_file() and p.name != "published.json")


@pytest.fixture
def added(tmp_path) -> Path:
    """A committed DVC project with a file and a folder output, both in its cache."""
    project = tmp_path / "project"
    (project / "data/folder/sub").mkdir(parents=True)
    (project / "data/folder/a.txt").write_text("a\n")
    (project / "data/folder/sub/b.txt").write_text("b\n")
    (project / "data/one.txt").write_text("one\n")
    _git(project, "init", "-q")
    _run(["dvc", "init", "-q"], project)
    _run(["dvc", "config", "core.analytics", "false"], project)
    _run(["dvc", "add", "-q", "data/folder", "data/one.txt"], project)
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "data")
    return project


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_the_remote_holds_what_the_commit_records_in_dvcs_layout_and_a_clone_pulls_it_over_http(added, tmp_path):
    (added / "data/one.txt").unlink()
    (added / "data/one.txt").write_text("changed, not committed\n")
    _run(["dvc", "add", "-q", "data/one.txt"], added)  # the cache now holds both; HEAD records the first
    www = tmp_path / "www"
    done = _publish(added, www / "remote")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("publish_remote: all 2 outputs of ")
    remote = www / "remote"
    listing = json.dumps([{"md5": _md5("a\n"), "relpath": "a.txt"}, {"md5": _md5("b\n"), "relpath": "sub/b.txt"}], sort_keys=True)
    expected = [_md5("a\n"), _md5("b\n"), _md5("one\n"), _md5(listing) + ".dir"]
    assert _objects(remote) == sorted(f"files/md5/{oid[:2]}/{oid[2:]}" for oid in expected)
    manifest = json.loads((remote / "published.json").read_text())
    assert manifest["outputs"] == {"data/folder": _md5(listing) + ".dir", "data/one.txt": _md5("one\n")}
    assert manifest["missing"] == {}
    umask = os.umask(0)
    os.umask(umask)
    assert remote.stat().st_mode & 0o777 == 0o777 & ~umask  # as mkdir makes a folder: a web server's user reads it

    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(added), str(clone)], tmp_path)
    with _served(www) as url:
        _run(["dvc", "remote", "add", "--local", "-d", "published", f"{url}/remote"], clone)
        _run(["dvc", "pull"], clone)
    assert (clone / "data/one.txt").read_text() == "one\n"
    assert (clone / "data/folder/sub/b.txt").read_text() == "b\n"
    assert json.loads(_run(["dvc", "status", "--json"], clone).stdout or "{}") == {}
    assert _run(["git", "status", "--porcelain"], clone).stdout == ""  # --local: the clone's tracked config is untouched


def test_outputs_missing_from_the_cache_are_named_and_nothing_is_written(added, tmp_path):
    cache = added / ".dvc/cache/files/md5"
    (cache / _md5("b\n")[:2] / _md5("b\n")[2:]).unlink()
    done = _publish(added, tmp_path / "remote")
    assert done.returncode == 2
    commit = _run(["git", "rev-parse", "HEAD"], added).stdout.strip()
    assert done.stderr.splitlines() == [
        "missing: data/folder (1 of its 2 files are not in the DVC cache)",
        f"error: 1 of the 2 outputs that HEAD ({commit[:10]}) records are not in this DVC cache "
        f"({added / '.dvc/cache'}; listed above), so nothing was written; `dvc pull` or rerun their stages, or publish the rest with --allow-missing",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # no remote, no half-written folder

    partial = _publish(added, tmp_path / "remote", "--allow-missing")
    assert partial.returncode == 0, partial.stderr
    assert partial.stderr == "not published: data/folder (1 of its 2 files are not in the DVC cache)\n"
    assert "INCOMPLETE: 1 outputs are not in it (listed above and in published.json)" in partial.stdout
    manifest = json.loads((tmp_path / "remote/published.json").read_text())
    assert manifest["missing"] == {"data/folder": "1 of its 2 files are not in the DVC cache"}
    assert _objects(tmp_path / "remote") == [f"files/md5/{_md5('one' + chr(10))[:2]}/{_md5('one' + chr(10))[2:]}"]


def test_a_damaged_cache_file_leaves_the_previous_publication_and_a_foreign_folder_is_never_replaced(added, tmp_path):
    remote = tmp_path / "remote"
    assert _publish(added, remote).returncode == 0
    before = {p: p.read_bytes() for p in remote.rglob("*") if p.is_file()}
    damaged = added / ".dvc/cache/files/md5" / _md5("one\n")[:2] / _md5("one\n")[2:]
    damaged.chmod(0o644)
    damaged.write_text("bit rot\n")
    done = _publish(added, remote)
    assert done.returncode == 2 and "this DVC cache's copy is damaged (md5 " in done.stderr
    assert {p: p.read_bytes() for p in remote.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "remote"]

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("a user's file")
    done = _publish(added, mine)
    assert done.returncode == 2 and "holds files this program did not write; name a new or empty folder" in done.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_a_clone_pulls_the_published_run_over_http_and_both_tools_are_up_to_date(published_project, tmp_path):
    www = tmp_path / "www"
    done = _publish(published_project, www / "imdb-rnn-dvc")
    assert done.returncode == 0, done.stdout + done.stderr
    # the archive, five prepared files, the word vectors and one checkpoint per architecture
    assert "all 11 outputs of " in done.stdout

    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(published_project), str(clone)], tmp_path)
    shutil.copy(ROOT / "Makefile", clone / "Makefile")
    make = ["make", "-o", "install", "pull", f"VENV={BIN.parent}"]  # the venv is this one: nothing to install
    with _served(www) as url:
        _run(["dvc", "remote", "add", "--local", "-d", "published", f"{url}/imdb-rnn-dvc"], clone)
        _run(make, clone)
    for path in ("data/aclImdb_v1.tar.gz", "data/prepared/train.npz", "data/embeddings/embedding.npy", "models/rnn1/seed1234.pt"):
        assert (clone / path).read_bytes() == (published_project / path).read_bytes(), path
    assert json.loads(_run(["dvc", "status", "--json"], clone).stdout or "{}") == {}
    dry = _run(["snakemake", "--cores", "1", "--dry-run"], clone)
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:]

    # Where the workspace is not what dvc.lock records (here, code changed since the run),
    # `make pull` says so and marks nothing up to date for Snakemake.
    code = clone / "workflow/scripts/summarize.py"
    code.write_text(code.read_text() + "\n")
    with _served(www) as url:
        refused = _run(make, clone, ok=False)
    assert refused.returncode != 0
    assert "error: the workspace is not what dvc.lock records (listed above)" in refused.stderr
    dry = _run(["snakemake", "--cores", "1", "--dry-run"], clone)
    assert "Nothing to be done" not in dry.stdout + dry.stderr
