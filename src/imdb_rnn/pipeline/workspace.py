"""One run at a time in a project folder, whichever tool starts it, and where the project is.

    from imdb_rnn.pipeline.workspace import Workspace, project_path
    held = Workspace(".")
    held.take("snakemake --cores 4")    # UserError naming the run that holds the folder
    held.leave()
    project_path("../shared/aclImdb_v1.tar.gz")   # against the project, even in a queued experiment

DVC records in ``.dvc/tmp/rwlock`` the paths each running ``dvc`` command reads and writes,
with its pid and command line, and holds ``.dvc/tmp/lock`` while a ``dvc`` command runs
between stages. A Snakemake run (its ``onstart``) enters itself in the same rwlock as the
writer of the whole folder, so every DVC command that would read or write a stage's files
stops before it touches one, naming the Snakemake run; and it refuses to start while DVC's
lock is held or a live process is in the rwlock. Both files are locked with ``flock``, as
DVC (zc.lockfile) does; an entry whose process has died is ignored, as DVC ignores it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imdb_rnn.errors import UserError

DVC_TMP = Path(".dvc") / "tmp"
RWLOCK, RWLOCK_GUARD, REPO_LOCK = "rwlock", "rwlock.lock", "lock"
# DVC waits this long for a lock before it gives up (dvc.lock.DEFAULT_TIMEOUT).
GUARD_WAIT_SECONDS = 3.0
# A DVC queued experiment runs in a copy of the project at <project>/.dvc/tmp/exps/<name>/.
EXPERIMENT_COPY = (".dvc", "tmp", "exps")
ADVICE = "wait for it to end, or work in a separate clone of the project"


@contextmanager
def _flocked(path: Path, wait: float):
    """Hold an exclusive ``flock`` on ``path``, trying for ``wait`` seconds; BlockingIOError after."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
        yield fd
    finally:
        os.close(fd)  # closing releases the flock


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(info: dict[str, Any]) -> str:
    words = str(info.get("cmd", "")).split()
    command = " ".join([Path(words[0]).name, *words[1:]]) if words else "a process"
    return f"`{command}` (pid {info.get('pid')})"


class Workspace:
    """The project folder at ``root`` as a Snakemake run holds it (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str] = ".") -> None:
        self.root = Path(root).resolve()
        self.tmp = self.root / DVC_TMP
        self.entry: dict[str, Any] | None = None

    @contextmanager
    def _rwlock(self):
        """DVC's rwlock table, read and written back under its guard."""
        path = self.tmp / RWLOCK
        with _flocked(self.tmp / RWLOCK_GUARD, GUARD_WAIT_SECONDS):
            try:
                table = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                table = {}
            yield table
            path.write_text(json.dumps(table), encoding="utf-8")

    def _dvc_running(self) -> str | None:
        """A description of the ``dvc`` command holding DVC's repository lock, or None."""
        path = self.tmp / REPO_LOCK
        try:
            with _flocked(path, 0):
                return None
        except BlockingIOError:
            pid = path.read_text(encoding="utf-8", errors="replace").strip()  # zc.lockfile writes its pid
            return f"a `dvc` command (pid {pid or '?'})"

    def take(self, command: str) -> None:
        """Enter the run ``command`` as the writer of the whole folder, or raise UserError
        naming the run that holds it. A project without DVC (no .dvc/) has no one to tell."""
        if not self.tmp.parent.is_dir():
            return
        self.tmp.mkdir(exist_ok=True)
        entry = {"pid": os.getpid(), "cmd": f"{command} (a Snakemake run holds this workspace until it ends)"}
        with self._rwlock() as table:
            for mode in ("write", "read"):
                for infos in table.get(mode, {}).values():
                    for info in infos if isinstance(infos, list) else [infos]:
                        if info.get("pid") != os.getpid() and _alive(int(info.get("pid", 0))):
                            raise UserError(f"this workspace is busy: {_describe(info)} is running in it; {ADVICE}")
            running = self._dvc_running()
            if running:
                raise UserError(f"this workspace is busy: {running} is running in it; {ADVICE}")
            table.setdefault("write", {})[str(self.root)] = entry
        self.entry = entry

    def leave(self) -> None:
        """Take this run's entry out of DVC's rwlock (a run that dies leaves a dead pid, which is ignored)."""
        if self.entry is None:
            return
        with self._rwlock() as table:
            writes = table.get("write", {})
            if writes.get(str(self.root)) == self.entry:
                del writes[str(self.root)]
        self.entry = None


def project_root(folder: str | os.PathLike[str] = ".") -> Path:
    """The user's project folder: ``folder`` itself, or the project a DVC queued experiment
    copied when ``folder`` is that copy (``<project>/.dvc/tmp/exps/<name>``)."""
    folder = Path(folder).resolve()
    for candidate in (folder, *folder.parents):
        if candidate.parent.parts[-len(EXPERIMENT_COPY) :] == EXPERIMENT_COPY:
            return candidate.parent.parent.parent.parent
    return folder


def project_path(value: str) -> str:
    """A local path from params.yaml as the user meant it: relative to the project folder,
    also when a queued DVC experiment runs in a copy of it. Absolute paths and URLs stay."""
    if "://" in value or Path(value).is_absolute():
        return value
    return str(project_root() / value)
