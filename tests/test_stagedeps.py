"""Each stage's declared code dependencies are the modules its program really runs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_rnn.pipeline.codedeps import code_deps

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["preflight", "download", "prepare", "embed", "train", "gradcheck", "diagnose", "summarize", "report", "pdf"]


def test_imports_are_followed_through_modules_and_inside_functions(tmp_path):
    package = tmp_path / "src" / "imdb_rnn"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("def f():\n    from . import c\n    import imdb_rnn.d\n")
    (package / "c.py").write_text("import json\n")
    (package / "d.py").write_text("from imdb_rnn import e\n")
    (package / "e.py").write_text("")
    (package / "unused.py").write_text("")
    script = tmp_path / "workflow" / "scripts" / "s.py"
    script.parent.mkdir(parents=True)
    script.write_text("from imdb_rnn.a import y\n")
    deps = code_deps("workflow/scripts/s.py", root=tmp_path)
    assert deps == ["workflow/scripts/s.py"] + [f"src/imdb_rnn/{m}.py" for m in "abcde"]


def _package(tmp_path: Path, files: dict[str, str]) -> None:
    """A synthetic src/imdb_rnn with ``files`` (paths under it -> text)."""
    for name, text in {"__init__.py": "", **files}.items():
        path = tmp_path / "src" / "imdb_rnn" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


SUBPACKAGE = {
    "errors.py": "",
    "fileio.py": "",
    "other.py": "",
    "sub/__init__.py": "from .derive import y\nfrom .doc import run\n",
    "sub/derive.py": "from ..errors import UserError\n",
    "sub/doc.py": "def run():\n    from . import numeric\n",
    "sub/numeric.py": "from .. import fileio\n",
    "sub/unused.py": "",
}
SUBPACKAGE_DEPS = [f"src/imdb_rnn/{m}.py" for m in ("errors", "fileio", "sub/__init__", "sub/derive", "sub/doc", "sub/numeric")]


@pytest.mark.parametrize(
    "line",
    [
        "import imdb_rnn.sub\n",
        "from imdb_rnn import sub\n",
        "from imdb_rnn.sub import run\n",
        "def f():\n    from imdb_rnn.sub import y, run\n",
    ],
)
def test_a_subpackage_is_its_init_and_the_submodules_it_imports(tmp_path, line):
    _package(tmp_path, SUBPACKAGE)
    (tmp_path / "s.py").write_text(line)
    assert code_deps("s.py", root=tmp_path) == ["s.py", *SUBPACKAGE_DEPS]


def test_relative_imports_reach_a_subpackage_and_a_submodule_loads_its_package(tmp_path):
    _package(tmp_path, {**SUBPACKAGE, "a.py": "from .sub import run\n", "b.py": "import imdb_rnn.sub.numeric\n"})
    (tmp_path / "s.py").write_text("from imdb_rnn import a\n")
    assert code_deps("s.py", root=tmp_path) == ["s.py", "src/imdb_rnn/a.py", *SUBPACKAGE_DEPS]
    # importing only a submodule still runs (so depends on) the package's __init__ and its imports
    (tmp_path / "s.py").write_text("from imdb_rnn import b\n")
    assert code_deps("s.py", root=tmp_path) == ["s.py", "src/imdb_rnn/b.py", *SUBPACKAGE_DEPS]


@pytest.mark.parametrize(
    ("line", "missing"),
    [
        ("from imdb_rnn.sub.nowhere import x\n", "imdb_rnn.sub.nowhere"),
        ("from imdb_rnn.sub import nowhere\n", "imdb_rnn.sub.nowhere"),
        ("from imdb_rnn import nowhere\n", "imdb_rnn.nowhere"),
    ],
)
def test_a_name_neither_a_module_nor_bound_in_its_package_is_an_error(tmp_path, line, missing):
    _package(tmp_path, SUBPACKAGE)
    (tmp_path / "s.py").write_text(line)
    with pytest.raises(FileNotFoundError, match=missing.replace(".", r"\.")):
        code_deps("s.py", root=tmp_path)


def test_resources_a_module_names_follow_it(tmp_path):
    files = {"report.py": 'from .sub import run\nRESOURCES = ("templates/a.j2", "b.yaml")\n', **SUBPACKAGE}
    _package(tmp_path, files)
    (tmp_path / "s.py").write_text("from imdb_rnn.report import x\n")
    deps = code_deps("s.py", root=tmp_path)
    assert deps[:2] == ["s.py", "src/imdb_rnn/errors.py"] and "src/imdb_rnn/report.py" in deps
    assert deps[-2:] == ["src/imdb_rnn/templates/a.j2", "src/imdb_rnn/b.yaml"]
    (tmp_path / "src/imdb_rnn/report.py").write_text("RESOURCES = ['a.j2']\n")
    with pytest.raises(ValueError, match="RESOURCES must be a tuple"):
        code_deps("s.py", root=tmp_path)


def test_an_import_of_a_missing_module_is_an_error(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("from imdb_rnn.nowhere import x\n")
    (tmp_path / "src" / "imdb_rnn").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        code_deps("s.py", root=tmp_path)


@pytest.mark.parametrize("stage", STAGES)
def test_every_module_a_stage_program_loads_is_declared(stage):
    # What Python really loads when the program starts (its top-level imports, transitively):
    # a subset of what stagedeps finds, which also sees imports made inside functions.
    script = f"workflow/scripts/{stage}.py"
    probe = (
        f"import json, pathlib, runpy, sys\n"
        f"runpy.run_path({script!r}, run_name='probe')\n"  # not __main__: imports only, runs nothing
        # each module's file (a subpackage's __init__.py), from the repository root
        f"print(json.dumps(sorted(pathlib.Path(m.__file__).resolve().relative_to(pathlib.Path.cwd().resolve()).as_posix() "
        f"for name, m in list(sys.modules.items()) if name.startswith('imdb_rnn.'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    declared = set(code_deps(script, root=ROOT))
    documents_only = {p for p in loaded if p.endswith("__init__.py") and len(ast.parse((ROOT / p).read_text(encoding="utf-8")).body) <= 1}
    assert loaded - declared - documents_only == set()
    # and nothing declared that the program never loads (stale entries rerun stages for nothing),
    # nor a package's __init__.py that only documents it (editing that text reruns nothing)
    assert {p for p in declared if p.endswith(".py")} - {script} == loaded - documents_only
    assert "src/imdb_rnn/train/__init__.py" not in declared
