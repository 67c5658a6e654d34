"""Lint and format are part of the tests: ruff's rules and formatter as pyproject.toml sets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

RUFF = Path(sys.executable).with_name("ruff")
CODE = ["src", "tests", "workflow/scripts"]


def test_ruff_check_passes():
    done = subprocess.run([str(RUFF), "check", *CODE], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_ruff_format_has_nothing_to_change():
    done = subprocess.run([str(RUFF), "format", "--check", *CODE], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
