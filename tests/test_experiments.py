"""Exporting a finished run as an experiment beside the baseline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.fileio import write_json
from imdb_rnn.stats.experiments import export_experiment, load_experiment, spread_ratio
from imdb_rnn.stats.summarize import summarize

import fake_results
from conftest import load_script


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "results").mkdir(parents=True)
    (root / "params.yaml").write_text(fake_results.params_yaml())
    fake_results.write_runs(root / "results" / "runs")
    summarize(fake_results.ARCHS, fake_results.SEEDS, root / "results" / "runs", root / "results")
    write_json(root / "results" / "data" / "stats.json", fake_results.data_stats())
    return root


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_copies_params_summary_and_every_run(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "experiments" / "clip-1"
    written = export_experiment(workspace, out)
    assert len(written) == 4 + 3 * len(fake_results.ARCHS) * len(fake_results.SEEDS)
    assert (out / "params.yaml").read_bytes() == (workspace / "params.yaml").read_bytes()
    assert (out / "data_stats.json").read_bytes() == (workspace / "results" / "data" / "stats.json").read_bytes()
    for arch in fake_results.ARCHS:
        for seed in fake_results.SEEDS:
            for name in ("metrics.json", "history.csv", "predictions.csv.gz"):
                assert (out / "runs" / arch / f"seed{seed}" / name).read_bytes() == (
                    workspace / "results" / "runs" / arch / f"seed{seed}" / name
                ).read_bytes()
    experiment = load_experiment(out, list(fake_results.ARCHS))
    assert experiment.name == "clip-1" and set(experiment.correct) == set(fake_results.ARCHS)
    assert experiment.summary["bilstm2"]["n"] == len(fake_results.SEEDS)
    assert experiment.data_stats == fake_results.data_stats() and experiment.selection == ()


def test_export_never_overwrites_and_writes_nothing_when_a_file_is_missing(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "experiments" / "clip-1"
    export_experiment(workspace, out)
    before = _digest(out)
    with pytest.raises(UserError, match="exists"):
        export_experiment(workspace, out)
    assert _digest(out) == before
    (workspace / "results" / "runs" / "rnn1" / "seed7" / "history.csv").unlink()
    with pytest.raises(UserError, match="missing"):
        export_experiment(workspace, tmp_path / "experiments" / "other")
    assert not (tmp_path / "experiments" / "other").exists()


@pytest.mark.parametrize("name", ["", "../up", ".hidden", "a b", "x/y"])
def test_export_refuses_a_name_that_is_not_a_plain_folder_name(workspace: Path, tmp_path: Path, name: str, capsys) -> None:
    script = load_script("export_experiment")
    code = run_cli(script.main, ["--name", name, "--workspace", str(workspace), "--out", str(tmp_path / "exp")])
    assert code == 2 and "--name" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()


def test_a_candidate_is_exported_into_the_experiment_it_was_chosen_for(workspace: Path, tmp_path: Path, capsys) -> None:
    script = load_script("export_experiment")
    out = tmp_path / "experiments"
    args = ["--workspace", str(workspace), "--out", str(out)]
    # its experiment must be there first
    assert run_cli(script.main, ["--name", "clip-5-seed1234", "--selection-for", "clip-1", *args]) == 2
    assert "no experiment at" in capsys.readouterr().err and not out.exists()
    assert run_cli(script.main, ["--name", "clip-1", *args]) == 0
    assert run_cli(script.main, ["--name", "clip-5-seed1234", "--selection-for", "clip-1", *args]) == 0
    candidate = out / "clip-1" / "selection" / "clip-5-seed1234"
    assert (candidate / "params.yaml").read_bytes() == (workspace / "params.yaml").read_bytes()
    experiment = load_experiment(out / "clip-1", list(fake_results.ARCHS))
    assert [c.name for c in experiment.selection] == ["clip-5-seed1234"]
    assert experiment.selection[0].summary == json.loads((workspace / "results" / "summary.json").read_text())
    # a candidate is not an experiment of its own, and is never overwritten either
    assert [p.parent.name for p in out.glob("*/summary.json")] == ["clip-1"]
    assert run_cli(script.main, ["--name", "clip-5-seed1234", "--selection-for", "clip-1", *args]) == 2
    assert run_cli(script.main, ["--name", "x", "--selection-for", "../up", *args]) == 2


def test_spread_ratio_uses_the_f_distribution_of_the_two_variances() -> None:
    # sd 1 against sd 2: ratio 0.5; F(2, 2) has the quantiles 39 and 1/39 (F = p / (1 - p) for 2 and 2 degrees)
    ratio = spread_ratio([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    assert ratio is not None and ratio["ratio"] == pytest.approx(0.5) and ratio["df"] == (2, 2)
    assert ratio["interval"] == pytest.approx((0.5 / 39**0.5, 0.5 * 39**0.5))
    assert spread_ratio([1.0], [2.0, 4.0]) is None and spread_ratio([1.0, 1.0], [2.0, 4.0]) is None
    # unequal degrees of freedom, in the right order: 1 for a (two values), 9 for b (ten values);
    # the tables' F(0.975; 1, 9) = 7.209 and F(0.975; 9, 1) = 963.28
    a, b = [0.0, 2.0], [float(i % 2) for i in range(10)]
    ratio = spread_ratio(a, b)
    assert ratio is not None and ratio["df"] == (1, 9)
    r = ratio["ratio"]
    assert ratio["interval"] == pytest.approx((r / 7.209**0.5, r * 963.28**0.5), rel=1e-3)
