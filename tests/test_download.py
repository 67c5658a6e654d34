"""The download stage: local paths and file:// URLs, checksums, and nothing half-written."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT
from imdb_rnn.download import download
from imdb_rnn.errors import UserError


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
    from imdb_rnn.config import set_params

    set_params(tiny_params, {"data.sha256": "f" * 64})
    out = tmp_path / "data" / "a.tar.gz"
    result = subprocess.run(
        [sys.executable, str(ROOT / "workflow/scripts/download.py"), "--params", str(tiny_params), "--out", str(out), "--no-progress"],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: sha256 mismatch")
    assert not out.exists()
