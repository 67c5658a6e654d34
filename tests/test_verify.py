"""verify's pieces that need no pipeline run (the end-to-end checks are in test_workflow.py)."""

from __future__ import annotations

import pytest

from imdb_rnn.checks.verify import environment_differences, load_lock, lock_outs
from imdb_rnn.errors import UserError, run_cli

from conftest import load_script
from fake_results import NUMERICS


def test_kernel_variables_compare_as_the_libraries_read_them():
    here = {**NUMERICS, "env": {**NUMERICS["env"], "MKL_CBWR": "avx2", "OPENBLAS_CORETYPE": "haswell"}}
    assert environment_differences(NUMERICS, here) == []
    other = {**NUMERICS, "env": {**NUMERICS["env"], "MKL_CBWR": "COMPATIBLE"}}
    assert environment_differences(NUMERICS, other) == ["MKL_CBWR=COMPATIBLE here, AVX2 published"]
    assert environment_differences(None, here) == ["the published run recorded no packages or kernels (it predates that record)"]


def test_a_lock_that_is_a_folder_or_malformed_is_one_line(tmp_path):
    with pytest.raises(UserError, match="is a folder; pass the dvc.lock file"):
        load_lock(tmp_path)
    lock = tmp_path / "dvc.lock"
    lock.write_text("schema: '2.0'\nstages:\n  prepare: 3\n  embed:\n    outs: oops\n")
    assert lock_outs(load_lock(lock), "prepare") == {} and lock_outs(load_lock(lock), "embed") == {}


def test_work_folder_must_be_empty(tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "mine.txt").write_text("a user's file")
    code = run_cli(load_script("verify").main, ["--work", str(work), "--lock", str(tmp_path / "dvc.lock")])
    assert code == 2 and "not empty; verify writes prepared data there" in capsys.readouterr().err
    assert (work / "mine.txt").read_text() == "a user's file"
