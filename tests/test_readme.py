"""The README's commands, literally, on a fresh copy of the project with only the system's PATH.

The "Using a local archive" block is run as written (bash, one line after another), with
the archive's path and checksum replaced by a tiny archive's: it sets params with
`make params`, which installs the virtual environment first, then `make report` runs the
whole pipeline. Nothing of this checkout's .venv is used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, TEST_PARAMS

pytestmark = pytest.mark.slow
# The block's example: a copy of the official archive saved by hand, and that archive's sha256.
README_ARCHIVE = "$HOME/Downloads/aclImdb_v1.tar.gz"
README_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"


def readme_block(heading: str) -> str:
    """The first ```bash block under ``heading`` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    return re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)


def fresh_copy(dest: Path) -> Path:
    """The project's files as a clone would have them (tracked and new, not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    shutil.copy2(TEST_PARAMS, dest / "params.yaml")  # a clone's params, not this checkout's user's
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "clone"],
    ):
        subprocess.run(command, cwd=dest, check=True, capture_output=True)
    return dest


def system_path() -> str:
    """PATH without this test run's virtual environment."""
    ours = str(Path(sys.executable).parent)
    return os.pathsep.join(part for part in os.environ["PATH"].split(os.pathsep) if part != ours)


def test_the_local_archive_block_runs_as_written_on_a_fresh_copy(tmp_path, tiny_archive):
    archive, sha = tiny_archive
    block = readme_block("### Using a local archive instead of downloading")
    assert README_ARCHIVE in block and README_SHA256 in block, "the README block changed: update this test"
    block = block.replace(README_ARCHIVE, str(archive)).replace(README_SHA256, sha)
    project = fresh_copy(tmp_path / "clone")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = system_path()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (project / ".venv/bin/python").exists()
    for name in ("report.md", "report.tex", "report.pdf"):
        assert (project / "report" / name).stat().st_size > 0
