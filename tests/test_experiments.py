"""Exporting a finished run as an experiment beside the baseline."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.experiments import export_experiment, load_experiment
from imdb_rnn.summarize import summarize

import fake_results
from conftest import load_script


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "results").mkdir(parents=True)
    (root / "params.yaml").write_text(fake_results.params_yaml())
    fake_results.write_runs(root / "results" / "runs")
    summarize(fake_results.ARCHS, fake_results.SEEDS, root / "results" / "runs", root / "results")
    return root


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_copies_params_summary_and_every_run(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "experiments" / "clip-1"
    written = export_experiment(workspace, out)
    assert len(written) == 3 + 3 * len(fake_results.ARCHS) * len(fake_results.SEEDS)
    assert (out / "params.yaml").read_bytes() == (workspace / "params.yaml").read_bytes()
    for arch in fake_results.ARCHS:
        for seed in fake_results.SEEDS:
            for name in ("metrics.json", "history.csv", "predictions.csv.gz"):
                assert (out / "runs" / arch / f"seed{seed}" / name).read_bytes() == (
                    workspace / "results" / "runs" / arch / f"seed{seed}" / name
                ).read_bytes()
    experiment = load_experiment(out, list(fake_results.ARCHS))
    assert experiment.name == "clip-1" and set(experiment.correct) == set(fake_results.ARCHS)
    assert experiment.summary["bilstm2"]["n"] == len(fake_results.SEEDS)


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
