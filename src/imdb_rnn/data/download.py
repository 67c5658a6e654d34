"""Fetch the IMDB archive and verify its sha256 before it is trusted.

    python workflow/scripts/download.py --url URL --sha256 HEX --out data/aclImdb_v1.tar.gz

``URL`` is an http(s) URL, a ``file://`` URL or a local path. The bytes go to a temporary
file beside the target, are hashed on the way, and are renamed onto the target only when
the sha256 matches, so an interrupted or corrupt download never looks complete. A transfer
that breaks (cut short of its Content-Length, a reply that is not HTTP, a reset, a
timeout) is one error line that names the URL, and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from imdb_rnn.errors import UserError
from imdb_rnn.fileio import atomic_path

CHUNK = 1 << 20
TIMEOUT_SECONDS = 60  # a connection that sends nothing for this long counts as broken
# What a broken transfer raises: urllib's errors, the OS's (reset, refused, timed out) and
# http.client's, which are not OSErrors (a reply that is not HTTP, a body cut short).
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError)


def _describe(exc: BaseException) -> str:
    """``exc`` on one line, its type first: ``TimeoutError: timed out``, ``HTTPError: HTTP Error 404: Not Found``."""
    # urllib wraps the OS's error in a URLError: name the one underneath.
    cause = exc.reason if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError) else exc
    name = type(cause if isinstance(cause, BaseException) else exc).__name__
    # Some carry the peer's bytes, line breaks included (BadStatusLine): keep one line.
    detail = " ".join(str(cause).split())
    if not detail:
        return name
    return detail if detail.startswith(name) else f"{name}: {detail}"


def _network_failure(url: str, what: str) -> UserError:
    """One line for any failure of the transfer itself: what happened, then retry or fetch by hand."""
    return UserError(f"download of {url} failed ({what}); rerun to try again, or download the archive by hand and set data.url to its local path")


# The official archive is 84 MB: anything past this is not it (and would fill the disk).
MAX_ARCHIVE_BYTES = 1 << 30


def _open_source(url: str) -> tuple[BinaryIO, int | None]:
    """Open ``url`` for reading; return the stream and its size when known."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("http", "https"):
        try:
            response = urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS)  # noqa: S310 - scheme checked above
        except NETWORK_ERRORS as exc:
            raise _network_failure(url, _describe(exc)) from None
        length = response.headers.get("Content-Length")
        return response, int(length) if length and length.isdigit() else None
    if parsed.scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
    elif parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):  # C:\\… on Windows
        path = Path(url)
    else:
        raise UserError(f"data.url: unsupported scheme '{parsed.scheme}' in {url}; use http(s)://, file:// or a local path")
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # /dev/zero, a FIFO, a socket
            raise UserError(f"data.url: {path} is not a regular file; point it at the .tar.gz archive")
        return open(path, "rb"), path.stat().st_size
    except FileNotFoundError:
        raise UserError(f"data.url: {path} does not exist; fix the path or use the official URL") from None
    except IsADirectoryError:
        raise UserError(f"data.url: {path} is a folder; point it at the .tar.gz archive") from None
    except PermissionError:
        raise UserError(f"data.url: {path} is not readable; check its permissions") from None


def _read(source: BinaryIO, url: str) -> bytes:
    try:
        return source.read(CHUNK)
    except NETWORK_ERRORS as exc:
        raise _network_failure(url, _describe(exc)) from None


def download(url: str, sha256: str, out: str | os.PathLike[str], progress: bool = True) -> Path:
    """Copy the archive at ``url`` to ``out`` if and only if its sha256 equals ``sha256``."""
    out = Path(out)
    digest = hashlib.sha256()
    source, size = _open_source(url)
    with source, atomic_path(out, suffix=".part") as tmp:
        with (
            open(tmp, "wb") as sink,
            tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=f"download {out.name}",
                disable=not progress,
                file=sys.stderr,
                mininterval=1.0,
            ) as bar,
        ):
            received = 0
            while block := _read(source, url):
                digest.update(block)
                sink.write(block)
                received += len(block)
                bar.update(len(block))
                if received > MAX_ARCHIVE_BYTES:
                    raise UserError(f"{url} sent more than {MAX_ARCHIVE_BYTES:,} bytes, far more than the IMDB archive (84 MB); check data.url")
        # http.client ends a body cut short like a complete one; only its announced size tells.
        if size is not None and received < size:
            raise _network_failure(url, f"the connection closed after {received:,} of {size:,} bytes")
        actual = digest.hexdigest()
        if actual != sha256.lower():
            raise UserError(
                f"sha256 mismatch for {url}: expected {sha256}, got {actual}; set data.sha256 to the archive's real checksum (or fetch a good copy)"
            )
    return out
