"""Shared fixtures: the tiny archive and a params.yaml that points at it.

Every test runs under the pipeline's default numeric pin (``numerics.cpu: avx2``), set here
before any test module loads numpy or torch, so that exact numbers mean the same on every
x86-64 machine (see imdb_rnn.numerics).
"""

from __future__ import annotations

from imdb_rnn.numerics import DEFAULT, pin

for _note in pin(DEFAULT):
    print(_note)

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from imdb_rnn.params_edit import set_params

from imdb_fixture import make_archive

ROOT = Path(__file__).resolve().parents[1]
# The tests' own params (the published recipe): the project's params.yaml is the user's to edit,
# and no test reads it.
TEST_PARAMS = ROOT / "tests" / "params" / "recipe.yaml"
# Metrics keys that measure wall-clock time, so two runs that agree bit for bit differ in them.
TIMING_KEYS = frozenset({"train_seconds", "train_tokens_per_second", "thread_seconds"})


# The files that take longest, longest first (times in docs/benchmarks.md): `make test` runs one
# file per worker at a time, and a long file started last would leave the other workers idle.
LONGEST_FIRST = ("test_workflow.py", "test_readme.py", "test_pipeline_runs.py", "test_remote.py", "test_runs.py", "test_verify.py")


def pytest_collection_modifyitems(items: list) -> None:
    """The longest files first, then the other end-to-end (``slow``) ones, then the rest; each in its own order."""

    def rank(item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST) + (item.get_closest_marker("slow") is None)

    items.sort(key=rank)  # stable: a file's tests keep their order


def load_script(name: str):
    """A program as a module, to call its ``main`` in-process: a stage program of
    workflow/scripts/, else a tool of tools/ or a benchmark of benchmarks/."""
    folder = next(f for f in (ROOT / "workflow" / "scripts", ROOT / "tools", ROOT / "benchmarks") if (f / f"{name}.py").is_file())
    spec = importlib.util.spec_from_file_location(f"script_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    # registered first, as an import would: a dataclass in the program looks its module up by name
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("archive") / "aclImdb_tiny.tar.gz"
    info = make_archive(path)
    return path, str(info["sha256"])


@pytest.fixture
def tiny_params(tmp_path, tiny_archive) -> Path:
    """A copy of the tests' params set up for the tiny archive and one quick epoch."""
    archive, sha = tiny_archive
    params = tmp_path / "params.yaml"
    shutil.copy(TEST_PARAMS, params)
    set_params(
        params,
        {
            "data.url": str(archive),
            "data.sha256": sha,
            "data.vocab_size": "60",
            "train.epochs": "1",
            "embedding.min_count": "1",
            "train.seeds": "[1234]",
        },
    )
    return params


@pytest.fixture(scope="session")
def published_project(tmp_path_factory, tiny_archive) -> Path:
    """A tiny project whose run is published as the README's maintainers publish one: the whole
    pipeline run (dvc repro), then dvc.lock and results/ committed. Tests copy it before they
    change it."""
    from test_workflow import project_copy, run

    archive, sha = tiny_archive
    project = project_copy(tmp_path_factory.mktemp("published") / "project", archive, sha)
    run(["dvc", "repro"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "publish the run"], project)
    return project
