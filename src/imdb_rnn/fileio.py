"""Atomic file writes and hashing.

Every output is written to a temporary file beside its target and renamed into place, so
an interrupted run never leaves a half-written file that looks complete. A run killed too
hard to clean up (SIGKILL, a power cut) leaves its temporary file; the next write of the
same target removes it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imdb_rnn.errors import UserError

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _temporary_name(target: Path, suffix: str) -> re.Pattern[str]:
    """The names ``tempfile.mkstemp`` gives :func:`atomic_path`'s temporary files for ``target``:
    ``.<name>.`` + 8 random characters + ``suffix``."""
    return re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}{re.escape(suffix)}")


def remove_stale_temporaries(target: Path, suffix: str) -> None:
    """Remove the temporary files an earlier, killed write of ``target`` left beside it.

    Only names of exactly :func:`atomic_path`'s pattern for this target and suffix. One
    writer per target at a time is assumed (the pipeline tools lock the folder), so no such
    file belongs to a write still in progress.
    """
    pattern = _temporary_name(target, suffix)
    with contextlib.suppress(FileNotFoundError):  # no folder yet: nothing was left
        for entry in os.scandir(target.parent):
            if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                # A file another user owns in a sticky folder cannot go: it stays, harmless.
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _cannot_write(target: Path, exc: OSError) -> UserError:
    """One line for a write that failed: a full disk (or quota) named as such, with the folder."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return UserError(f"no space left on {target.parent} (writing {target.name}); free some space there and rerun")
    return UserError(f"cannot write {target}: {exc.strerror or exc}; check that its folder is writable and has space")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left as it was; an
    OSError (a full disk: "no space left on <folder>") becomes a one-line :class:`UserError`.
    Before it starts, temporary files of earlier writes of ``target`` that were killed are removed.
    """
    target = Path(target)
    suffix = suffix or ".tmp"
    try:
        remove_stale_temporaries(target, suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise _cannot_write(target, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():  # mkstemp makes 0600 files; give outputs the usual permissions
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _cannot_write(target, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | os.PathLike[str], text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike[str], obj: Any) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"missing file {path}; run the stage that writes it first") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); delete it and rerun its stage") from exc


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
