"""Stage summarize: mean/std/n over seeds, the primary seed's contract files, missing runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.records import run_dir
from imdb_rnn.stats.summarize import STD_DEFINITION, summarize

from conftest import load_script
from fake_results import ARCHS, CODE_VERSIONS, SEEDS, STRUCTURES, TEST_ACC, VALID_ACC, history_csv, params_yaml, write_runs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    write_runs(tmp_path / "runs")
    return tmp_path / "runs"


def test_summary_mean_std_n_are_exact(runs: Path, tmp_path: Path) -> None:
    summary = summarize(ARCHS, SEEDS, runs, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
    assert list(summary) == list(ARCHS)
    # Two seeds a, b: mean (a + b) / 2, sample std |a - b| / sqrt(2); the fixture's values are
    # dyadic, so the means are exact in binary.
    expected_mean = {"bilstm2": 0.84375, "birnn2": 0.5625, "birnn1": 0.5, "rnn1": 0.71875}
    expected_gap = {"bilstm2": 0.0625, "birnn2": 0.125, "birnn1": 0.125, "rnn1": 0.0625}
    for arch in ARCHS:
        entry = summary[arch]
        assert entry["test_acc_mean"] == expected_mean[arch]
        assert entry["test_acc_std"] == pytest.approx(expected_gap[arch] / math.sqrt(2), rel=1e-12)
        assert entry["n"] == 2
        assert entry["seeds"] == [1234, 7]
        assert entry["primary_seed"] == 1234
        assert entry["test_acc_by_seed"] == {"1234": TEST_ACC[arch][0], "7": TEST_ACC[arch][1]}
        assert entry["valid_acc_mean"] == sum(VALID_ACC[arch]) / 2
        assert entry["valid_acc_std"] == pytest.approx(abs(VALID_ACC[arch][0] - VALID_ACC[arch][1]) / math.sqrt(2), abs=1e-15)
        assert entry["train_seconds_total"] == 210.0
        assert entry["code_versions"] == sorted(CODE_VERSIONS)
        assert entry["std"] == STD_DEFINITION
    assert summary["birnn1"]["valid_acc_std"] == 0.0  # equal values: no spread


def test_one_seed_has_std_zero(tmp_path: Path) -> None:
    write_runs(tmp_path / "runs", seeds=(5,))
    summary = summarize(ARCHS, [5], tmp_path / "runs", tmp_path / "out")
    assert summary["bilstm2"]["n"] == 1
    assert summary["bilstm2"]["test_acc_mean"] == TEST_ACC["bilstm2"][0]
    assert summary["bilstm2"]["test_acc_std"] == 0.0
    assert summary["bilstm2"]["valid_acc_std"] == 0.0


def test_contract_files_are_the_primary_seeds(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summarize(ARCHS, SEEDS, runs, out)
    for arch in ARCHS:
        primary = run_dir(runs, arch, SEEDS[0])
        metrics = json.loads((out / "metrics" / f"{arch}.json").read_text())
        original = json.loads((primary / "metrics.json").read_text())
        assert {k: metrics[k] for k in original} == original
        assert metrics["seed"] == 1234 and metrics["test_acc"] == TEST_ACC[arch][0]
        assert metrics["test_acc_mean"] == sum(TEST_ACC[arch]) / 2
        assert metrics["test_acc_std"] > 0 and metrics["n"] == 2
        assert (out / "history" / f"{arch}.csv").read_text() == history_csv(arch, 0)
        assert (out / "models" / f"{arch}.txt").read_bytes() == STRUCTURES[arch].encode()
    accuracy = json.loads((out / "accuracy.json").read_text())
    assert set(accuracy) == set(ARCHS)
    for arch in ARCHS:
        assert accuracy[arch] == {"test_acc": sum(TEST_ACC[arch]) / 2, "valid_acc": sum(VALID_ACC[arch]) / 2, "n": 2}


def test_missing_run_file_names_it_and_the_stage(runs: Path, tmp_path: Path) -> None:
    missing = run_dir(runs, "birnn1", 7) / "history.csv"
    missing.unlink()
    with pytest.raises(UserError) as caught:
        summarize(ARCHS, SEEDS, runs, tmp_path / "out")
    message = str(caught.value)
    assert str(missing) in message and "`train`" in message and "seed 7" in message
    assert "\n" not in message
    # Everything is read before anything is written.
    assert not (tmp_path / "out").exists()


def test_history_may_add_columns_after_the_contract_s_but_not_change_them(runs: Path, tmp_path: Path) -> None:
    path = run_dir(runs, "rnn1", 1234) / "history.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",grad_norm_mean"] + [line + ",0.5" for line in lines[1:]]) + "\n")
    summarize(ARCHS, SEEDS, runs, tmp_path / "out")
    assert (tmp_path / "out" / "history" / "rnn1.csv").read_text() == path.read_text()

    path.write_text(path.read_text().replace("valid_acc,seconds", "valid_accuracy,seconds", 1))
    with pytest.raises(UserError, match=r"does not start with the header epoch,train_loss,.*rerun stage `train` for rnn1 seed 1234"):
        summarize(ARCHS, SEEDS, runs, tmp_path / "out2")


def test_metrics_without_test_acc_is_a_user_error(runs: Path, tmp_path: Path) -> None:
    path = run_dir(runs, "rnn1", 1234) / "metrics.json"
    metrics = json.loads(path.read_text())
    del metrics["test_acc"]
    path.write_text(json.dumps(metrics))
    with pytest.raises(UserError, match="lacks test_acc"):
        summarize(ARCHS, SEEDS, runs, tmp_path / "out")


def test_cli_reads_archs_and_seeds_from_params(runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(params_yaml())
    script = load_script("summarize")
    assert run_cli(script.main, ["--params", str(params), "--runs", str(runs), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["rnn1"]["seeds"] == [1234, 7]
    assert "rnn1: test accuracy 71.88 ± 4.42 % over n = 2" in capsys.readouterr().out

    run_dir(runs, "bilstm2", 7).joinpath("model.txt").unlink()
    assert run_cli(script.main, ["--params", str(params), "--runs", str(runs), "--out", str(tmp_path / "again")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: missing ") and err.count("\n") == 0 and "model.txt" in err
