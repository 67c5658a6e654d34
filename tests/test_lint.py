"""Lint and format are part of the tests: ruff's rules and formatter as pyproject.toml sets them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

RUFF = Path(sys.executable).with_name("ruff")
CODE = ["src", "tests", "workflow/scripts", "tools", "benchmarks"]


def test_ruff_check_passes():
    done = subprocess.run([str(RUFF), "check", *CODE], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_ruff_format_has_nothing_to_change():
    done = subprocess.run([str(RUFF), "format", "--check", *CODE], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


# Sizes the house keeps to (issue: one place for every fact, smaller modules).
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def test_no_package_module_or_function_outgrows_its_limit():
    import ast

    too_long = []
    for path in sorted((ROOT / "src" / "imdb_rnn").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                too_long.append(f"{name}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, too_long
