"""Every stage program's docstring shows commands that run: each flag its usage lines name is
a flag its parser accepts (a renamed or removed option fails here, not in a user's shell)."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from conftest import ROOT, load_script

FOLDERS = ("workflow/scripts", "tools", "benchmarks")
SCRIPTS = sorted(path.stem for folder in FOLDERS for path in (ROOT / folder).glob("*.py"))


def usage_flags(name: str) -> set[str]:
    """The --flags in the docstring's command lines for ``name`` (continuation lines joined)."""
    path = next(ROOT / folder / f"{name}.py" for folder in FOLDERS if (ROOT / folder / f"{name}.py").is_file())
    text = path.read_text(encoding="utf-8").split('"""')[1]
    text = re.sub(r"\\+\n", " ", text)
    lines = [line for line in text.splitlines() if re.search(rf"python (?:[a-z/]+/)?{name}\.py\b", line)]
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", " ".join(lines)))


def parser_flags(name: str) -> set[str]:
    help_text = io.StringIO()
    with pytest.raises(SystemExit), contextlib.redirect_stdout(help_text):
        load_script(name).main(["--help"])
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", help_text.getvalue()))


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_docstring_usage_names_only_flags_the_parser_accepts(name):
    documented = usage_flags(name)
    assert documented - parser_flags(name) == set(), f"{name}.py's docstring shows flags its parser does not accept"


def test_the_usage_lines_are_found():
    # the check above would pass vacuously if no usage line were read
    assert {"--params", "--arch", "--checkpoint", "--max-threads"} <= usage_flags("train")
    assert {"--diagnostics", "--triplet"} <= usage_flags("report")
