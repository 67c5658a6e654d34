"""The download stage: local paths and file:// URLs, checksums, and nothing half-written."""

from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from imdb_rnn.data import download as imdb_download
from imdb_rnn.data.download import download
from imdb_rnn.errors import UserError

from conftest import ROOT


def test_local_path_and_file_url(tmp_path, tiny_archive):
    archive, sha = tiny_archive
    out = download(str(archive), sha, tmp_path / "a.tar.gz", progress=False)
    assert out.read_bytes() == archive.read_bytes()
    out2 = download(archive.as_uri(), sha, tmp_path / "b.tar.gz", progress=False)
    assert out2.read_bytes() == archive.read_bytes()


def test_checksum_mismatch_leaves_nothing(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    target = tmp_path / "out" / "a.tar.gz"
    with pytest.raises(UserError, match="sha256 mismatch") as info:
        download(str(archive), "0" * 64, target, progress=False)
    assert "data.sha256" in str(info.value)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_existing_output_survives_a_failed_download(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    target = tmp_path / "a.tar.gz"
    target.write_bytes(b"earlier good copy")
    with pytest.raises(UserError):
        download(str(archive), "0" * 64, target, progress=False)
    assert target.read_bytes() == b"earlier good copy"


@pytest.mark.parametrize(
    ("url", "message"),
    [("/no/such/archive.tar.gz", "does not exist"), ("ftp://example.org/a.tar.gz", "unsupported scheme 'ftp'")],
)
def test_bad_sources(tmp_path, url, message):
    with pytest.raises(UserError, match=message):
        download(url, "0" * 64, tmp_path / "a.tar.gz", progress=False)


def test_cli_one_line_error_and_exit_code(tmp_path, tiny_params):
    from imdb_rnn.params_edit import set_params

    set_params(tiny_params, {"data.sha256": "f" * 64})
    out = tmp_path / "data" / "a.tar.gz"
    result = subprocess.run(
        [sys.executable, str(ROOT / "workflow/scripts/download.py"), "--params", str(tiny_params), "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: sha256 mismatch")
    assert not out.exists()


@contextlib.contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port; yield the URL of /aclImdb_v1.tar.gz."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/aclImdb_v1.tar.gz"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def raw_server(reply: bytes | None) -> Iterator[str]:
    """A loopback TCP server that answers every connection with ``reply`` (None: says nothing) and closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                if reply is None:
                    stop.wait()
                else:
                    connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/aclImdb_v1.tar.gz"
    finally:
        stop.set()
        thread.join()
        listener.close()


class CutShort(http.server.BaseHTTPRequestHandler):
    """Announces 100,000 bytes, sends 10, closes: a transfer cut mid-way."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


def assert_failed_download(tmp_path, url: str, detail: str) -> None:
    target = tmp_path / "data" / "a.tar.gz"
    target.parent.mkdir()
    with pytest.raises(UserError) as info:
        download(url, "0" * 64, target, progress=False)
    assert str(info.value) == (
        f"download of {url} failed ({detail}); rerun to try again, or download the archive by hand and set data.url to its local path"
    )
    assert list((tmp_path / "data").iterdir()) == []  # no partial archive, no temporary file


def test_transfer_cut_mid_way_is_one_line_and_leaves_nothing(tmp_path):
    with http_server(CutShort) as url:
        assert_failed_download(tmp_path, url, "the connection closed after 10 of 100,000 bytes")


def test_reply_that_is_not_http_is_one_line_and_leaves_nothing(tmp_path):
    with raw_server(b"hello\r\n") as url:
        assert_failed_download(tmp_path, url, "BadStatusLine: hello")


def test_connection_closed_without_a_reply_is_one_line(tmp_path):
    with raw_server(b"") as url:
        assert_failed_download(tmp_path, url, "RemoteDisconnected: Remote end closed connection without response")


def test_server_that_never_answers_times_out_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(imdb_download, "TIMEOUT_SECONDS", 0.2)
    with raw_server(None) as url:
        assert_failed_download(tmp_path, url, "TimeoutError: timed out")


def test_a_source_that_is_not_a_regular_file_or_never_ends_is_refused(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="data.url: /dev/zero is not a regular file"):
        download("/dev/zero", "0" * 64, tmp_path / "a.tar.gz", progress=False)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 5000)
    monkeypatch.setattr("imdb_rnn.data.download.MAX_ARCHIVE_BYTES", 4096)
    with pytest.raises(UserError, match="sent more than 4,096 bytes"):
        download(str(big), "0" * 64, tmp_path / "a.tar.gz", progress=False)
    assert list(tmp_path.iterdir()) == [big]
