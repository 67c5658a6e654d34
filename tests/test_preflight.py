"""preflight: what can be refused before any training job starts (and removes earlier results)."""

from __future__ import annotations

import json

import pytest
import torch

from imdb_rnn.checks.preflight import CHECKS, preflight
from imdb_rnn.config import load_params
from imdb_rnn.errors import UserError, run_cli

from conftest import TEST_PARAMS, load_script

PARAMS = load_params(TEST_PARAMS)


def _with(**sections):
    return PARAMS.model_copy(update={name: getattr(PARAMS, name).model_copy(update=values) for name, values in sections.items()})


def test_the_project_params_pass_and_the_record_does_not_depend_on_them(tmp_path, monkeypatch):
    assert preflight(PARAMS) == {"passed": CHECKS}
    assert preflight(_with(train={"lr": 0.5, "seeds": [7]})) == {"passed": CHECKS}  # no retraining when it reruns
    # outside the project: its guard reads the project's own params.yaml, which the user may have edited
    # (tests/test_runs.py tests the guard)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "preflight.json"
    assert run_cli(load_script("preflight").main, ["--params", str(TEST_PARAMS), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {"passed": CHECKS}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(UserError, match="train.device is cuda but no CUDA GPU is visible; set train.device: auto or cpu"):
        preflight(_with(train={"device": "cuda"}))


def test_a_glove_path_that_is_not_a_file_is_refused(tmp_path):
    with pytest.raises(UserError, match=f"embedding.glove_path: {tmp_path} is a folder; point it at a GloVe text file"):
        preflight(_with(embedding={"init": "glove", "glove_path": str(tmp_path)}))
    with pytest.raises(UserError, match="does not exist"):
        preflight(_with(embedding={"init": "glove", "glove_path": str(tmp_path / "glove.txt")}))
