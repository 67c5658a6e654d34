"""Each stage's declared code dependencies are the modules its program really runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_rnn.stagedeps import code_deps

from conftest import load_script

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
        f"import json, runpy, sys\n"
        f"runpy.run_path({script!r}, run_name='probe')\n"  # not __main__: imports only, runs nothing
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith('imdb_rnn.'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = {f"src/imdb_rnn/{name.split('.')[1]}.py" for name in json.loads(done.stdout.strip().splitlines()[-1])}
    declared = set(code_deps(script, root=ROOT))
    assert loaded - declared == set()
    # and nothing declared that the program never loads (stale entries rerun stages for nothing)
    assert {p for p in declared if p.endswith(".py")} - {script} == loaded


def test_dvc_yaml_lists_exactly_the_derived_code_deps():
    script = load_script("dvc_code_deps")
    text = (ROOT / "dvc.yaml").read_text(encoding="utf-8")
    assert script.rewrite(text, ROOT) == text, "run: python workflow/scripts/dvc_code_deps.py"
    # and the check notices a stale list
    stale = text.replace("      - src/imdb_rnn/training.py\n", "", 1)
    assert stale != text and script.rewrite(stale, ROOT) == text
