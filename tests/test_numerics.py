"""Pinned numeric kernels: the pin itself, every stage program applying it before numpy and
torch load, and committed fingerprints of a few training steps and of word2vec under it.

The fingerprints in ``tests/data/pinned_fingerprints.json`` were computed on this project's
machine (AMD EPYC, AVX-512) under ``numerics.cpu: avx2``. On any x86-64 CPU with AVX2 and the
locked packages they must come out the same; if they do not, the pin is not enough there
(docs/reproducibility.md). Regenerate them only on purpose, after a change that is meant to
change the numbers (a package upgrade):

    IMDB_RNN_UPDATE_FINGERPRINTS=1 .venv/bin/python -m pytest tests/test_numerics.py
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from imdb_rnn.config import load_params
from imdb_rnn.fingerprint import state_fingerprint
from imdb_rnn.numerics import KNOBS, PINS, PinError, numeric_settings, pin, pin_from_argv, read_setting
from imdb_rnn.train.models import build_model

from conftest import ROOT, TEST_PARAMS

FINGERPRINTS = Path(__file__).parent / "data" / "pinned_fingerprints.json"
UPDATE = os.environ.get("IMDB_RNN_UPDATE_FINGERPRINTS") == "1"
STAGE_SCRIPTS = [f"workflow/scripts/{name}" for name in ("prepare", "embed", "train", "gradcheck", "diagnose", "summarize", "report")]
STAGE_SCRIPTS += ["tools/predict", "benchmarks/train_throughput"]
x86_only = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the avx2 pin is for x86-64 CPUs")


def test_pin_sets_every_variable_of_the_setting():
    environ: dict[str, str] = {}
    pin("avx2", environ, loaded=[])
    assert environ == PINS["avx2"]


def test_native_sets_nothing():
    environ = {"HOME": "/root"}
    pin("native", environ, loaded=["torch"])
    assert environ == {"HOME": "/root"}


def test_a_value_the_machine_sets_is_kept_and_named():
    environ = {"OPENBLAS_CORETYPE": "haswell"}  # agrees with the pin (case as OpenBLAS ignores it)
    notes = [n for n in pin("avx2", environ, loaded=[]) if "lacks" not in n]
    assert notes == [] and environ["OPENBLAS_CORETYPE"] == "haswell"
    environ = {"OPENBLAS_CORETYPE": "Zen", "MKL_CBWR": "AVX512"}
    notes = [n for n in pin("avx2", environ, loaded=[]) if "lacks" not in n]
    assert environ["OPENBLAS_CORETYPE"] == "Zen" and environ["MKL_CBWR"] == "AVX512"  # never overridden
    assert len(notes) == 2 and "OPENBLAS_CORETYPE=Zen is set in the environment and kept" in notes[0]
    assert environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"  # the rest of the pin still applies


def test_pinning_after_torch_loaded_is_a_bug_unless_already_pinned():
    with pytest.raises(PinError, match="after torch loaded"):
        pin("avx2", {}, loaded=["torch"])
    pin("avx2", dict(PINS["avx2"]), loaded=["torch"])  # a parent process pinned it: nothing to do
    with pytest.raises(ValueError, match="unknown setting 'sse'"):
        pin("sse", {}, loaded=[])


def test_the_setting_is_read_from_the_params_file_named_on_the_command_line(tmp_path, monkeypatch):
    params = tmp_path / "p.yaml"
    params.write_text("numerics:\n  cpu: native\n", encoding="utf-8")
    assert read_setting(params) == "native"
    assert read_setting(tmp_path / "missing.yaml") == "avx2"
    (tmp_path / "bad.yaml").write_bytes(b"\xff\xfe: [")
    assert read_setting(tmp_path / "bad.yaml") == "avx2"  # the stage's own validation reports it
    monkeypatch.setattr("imdb_rnn.numerics.pin", lambda setting: [])
    assert pin_from_argv(["--arch", "x", "--params", str(params)]) == "native"
    assert pin_from_argv([f"--params={params}"]) == "native"
    assert pin_from_argv([], default_params=str(tmp_path / "none.yaml")) == "avx2"


@x86_only
def test_this_test_process_runs_pinned():
    """conftest pins before torch loads; the kernels in use are the pinned ones."""
    settings = numeric_settings("avx2")
    for name, value in PINS["avx2"].items():
        assert settings["env"][name].lower() == value.lower()
    assert settings["kernels"]["torch_cpu_capability"] == "AVX2"
    assert {entry["core"] for entry in settings["kernels"]["blas"]} == {"Haswell"}


@x86_only
@pytest.mark.parametrize("script", STAGE_SCRIPTS)
def test_every_stage_program_pins_before_numpy_and_torch_load(script, tmp_path):
    """Loading a stage program in a clean environment pins the kernels (a program that
    imported torch first would raise PinError here)."""
    clean = {key: value for key, value in os.environ.items() if key not in KNOBS or key == "OPENBLAS_L2_SIZE"}
    params = tmp_path / "params.yaml"
    params.write_text(TEST_PARAMS.read_text(encoding="utf-8"), encoding="utf-8")
    probe = (
        "import json, os, runpy, sys; "
        f"sys.argv = [{script!r}, '--params', {str(params)!r}]; "
        f"runpy.run_path({str(ROOT / (script + '.py'))!r}, run_name='probe'); "
        "import torch; "
        f"print(json.dumps({{k: os.environ.get(k) for k in {list(PINS['avx2'])!r}}} | "
        "{'capability': torch.backends.cpu.get_cpu_capability()}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=clean, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen.pop("capability") == "AVX2"
    assert seen == PINS["avx2"]


def _training_fingerprints() -> dict[str, str]:
    """Three Adam steps of every architecture of the tests' params (full size, dropout on) on
    seeded batches of 16 reviews × 40 tokens, one thread."""
    params = load_params(TEST_PARAMS)
    torch.set_num_threads(1)
    found = {}
    for arch, model_params in params.models.items():
        torch.manual_seed(1234)
        model = build_model(model_params, vocab_size=2000)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        criterion = torch.nn.BCEWithLogitsLoss()
        data = torch.Generator().manual_seed(7)
        model.train()
        for _ in range(3):
            text = torch.randint(2, 2000, (40, 16), generator=data)
            labels = torch.randint(0, 2, (16,), generator=data).float()
            optimizer.zero_grad()
            criterion(model(text), labels).backward()
            optimizer.step()
        found[arch] = state_fingerprint(model.state_dict())
    return found


def _word2vec_fingerprint() -> str:
    from gensim.models import Word2Vec

    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    ranks = np.minimum(rng.zipf(1.4, size=20_000), len(words)) - 1
    sentences = [[words[r] for r in ranks[i : i + 50]] for i in range(0, len(ranks), 50)]
    model = Word2Vec(sentences, vector_size=32, window=5, min_count=1, workers=1, seed=1, epochs=2)
    return hashlib.sha256(np.ascontiguousarray(model.wv.vectors, dtype=np.float32).tobytes()).hexdigest()


@x86_only
def test_pinned_fingerprints_match_the_committed_ones():
    found = {"training": _training_fingerprints(), "word2vec": _word2vec_fingerprint()}
    if UPDATE:
        settings = numeric_settings("avx2")
        FINGERPRINTS.parent.mkdir(exist_ok=True)
        FINGERPRINTS.write_text(
            json.dumps({**found, "made_with": {k: settings[k] for k in ("cpu", "packages", "kernels")}}, indent=2) + "\n", encoding="utf-8"
        )
    committed = json.loads(FINGERPRINTS.read_text(encoding="utf-8"))
    differing = [arch for arch, value in found["training"].items() if committed["training"].get(arch) != value]
    assert not differing, (
        f"pinned training differs from the committed fingerprints for {differing} on {numeric_settings('avx2')['cpu']} "
        f"(committed on {committed['made_with']['cpu']}): the avx2 pin does not make these results portable here"
    )
    assert found["word2vec"] == committed["word2vec"], "pinned word2vec differs from the committed fingerprint"
