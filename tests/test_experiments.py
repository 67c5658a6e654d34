"""Experiments beside the baseline: a checked export with its record, and comparisons only where comparable."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.fileio import write_json
from imdb_rnn.report.build import render
from imdb_rnn.report.inputs import load_report_data
from imdb_rnn.stats.experiments import comparison, load_experiment
from imdb_rnn.stats.export import export_experiment
from imdb_rnn.stats.summarize import summarize

import fake_results
from conftest import load_script

# the fixture's baseline accuracies per seed, and an experiment that gains on the bi-LSTM only
BETTER_LSTM = {**fake_results.TEST_ACC, "bilstm2": (0.9375, 0.875)}


def make_workspace(root: Path, params: str, test_acc: dict | None = None, limit: int | None = None) -> Path:
    """A finished pipeline run as export reads it: params.yaml and results/."""
    (root / "results").mkdir(parents=True)
    (root / "params.yaml").write_text(params)
    fake_results.write_runs(root / "results" / "runs", test_acc=test_acc)
    summarize(fake_results.ARCHS, fake_results.SEEDS, root / "results" / "runs", root / "results")
    stats = fake_results.data_stats()
    if limit:
        stats["limit"] = limit
    write_json(root / "results" / "data" / "stats.json", stats)
    return root


def with_clip(params: str, value: str = "1.0") -> str:
    return params.replace("lr: 0.001}", f"lr: 0.001, clip_norm: {value}}}")


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    path = tmp_path / "baseline.yaml"
    path.write_text(fake_results.params_yaml())
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws", with_clip(fake_results.params_yaml()), test_acc=BETTER_LSTM)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_copies_every_run_and_records_the_question_and_the_baseline(workspace: Path, baseline: Path, tmp_path: Path) -> None:
    out = tmp_path / "experiments" / "clip-1"
    written = export_experiment(workspace, out, baseline=baseline, question="Does clipping at 1 help?")
    assert len(written) == 5 + 3 * len(fake_results.ARCHS) * len(fake_results.SEEDS)
    assert (out / "params.yaml").read_bytes() == (workspace / "params.yaml").read_bytes()
    record = yaml.safe_load((out / "experiment.yaml").read_text())
    assert record["question"] == "Does clipping at 1 help?"
    assert record["changes"] == {"train.clip_norm": {"baseline": None, "experiment": 1.0}}
    assert record["baseline_params"] == yaml.safe_load(baseline.read_text())
    experiment = load_experiment(out, list(fake_results.ARCHS))
    assert experiment.accuracy["bilstm2"] == {1234: 0.9375, 7: 0.875} and experiment.question == "Does clipping at 1 help?"


def test_export_never_overwrites_and_writes_nothing_when_a_file_is_missing(workspace: Path, baseline: Path, tmp_path: Path) -> None:
    out = tmp_path / "experiments" / "clip-1"
    export_experiment(workspace, out, baseline=baseline)
    before = _digest(out)
    with pytest.raises(UserError, match="exists"):
        export_experiment(workspace, out, baseline=baseline)
    assert _digest(out) == before
    (workspace / "results" / "runs" / "rnn1" / "seed7" / "history.csv").unlink()
    with pytest.raises(UserError, match="missing"):
        export_experiment(workspace, tmp_path / "experiments" / "other", baseline=baseline)
    assert sorted(p.name for p in (tmp_path / "experiments").iterdir()) == ["clip-1"]


def test_export_refuses_params_edited_after_the_run(workspace: Path, baseline: Path, tmp_path: Path) -> None:
    # the red team's false finding: params.yaml edited without rerunning, then exported
    (workspace / "params.yaml").write_text(with_clip(fake_results.params_yaml()).replace("lr: 0.001", "lr: 0.5"))
    metrics = workspace / "results" / "runs" / "bilstm2" / "seed1234" / "metrics.json"
    doc = json.loads(metrics.read_text())
    metrics.write_text(json.dumps({**doc, "train": {"lr": 0.001, "clip_norm": 1.0, "epochs": 3}}))
    with pytest.raises(UserError, match=r"seed1234/metrics.json was trained with train.lr 0.001 but .*params.yaml says 0.5"):
        export_experiment(workspace, tmp_path / "experiments" / "x", baseline=baseline)
    # a run without the recipe record is still checked on what every run records
    (workspace / "params.yaml").write_text(fake_results.params_yaml().replace("init: word2vec", "init: random"))
    metrics.write_text(json.dumps(doc))
    with pytest.raises(UserError, match=r"trained with embedding.init word2vec but .*says random"):
        export_experiment(workspace, tmp_path / "experiments" / "x", baseline=baseline)
    assert not (tmp_path / "experiments").exists()


def test_export_refuses_links_that_leave_the_workspace_or_lead_nowhere(workspace: Path, baseline: Path, tmp_path: Path) -> None:
    history = workspace / "results" / "runs" / "rnn1" / "seed7" / "history.csv"
    outside = tmp_path / "secret.txt"
    outside.write_text("not a result")
    history.unlink()
    history.symlink_to(outside)
    with pytest.raises(UserError, match=r"history.csv leads outside the workspace"):
        export_experiment(workspace, tmp_path / "experiments" / "x", baseline=baseline)
    history.unlink()
    history.symlink_to(tmp_path / "gone.csv")
    with pytest.raises(UserError, match=r"history.csv is a link to .*gone.csv, which does not exist"):
        export_experiment(workspace, tmp_path / "experiments" / "x", baseline=baseline)
    assert not (tmp_path / "experiments").exists()
    # a link inside the workspace is a file of the run: followed and copied
    history.unlink()
    inside = workspace / "results" / "elsewhere.csv"
    inside.write_text(fake_results.history_csv("rnn1", 1))
    os.symlink(inside, history)
    export_experiment(workspace, tmp_path / "experiments" / "x", baseline=baseline)
    assert (tmp_path / "experiments" / "x" / "runs" / "rnn1" / "seed7" / "history.csv").read_text() == inside.read_text()


@pytest.mark.parametrize("name", ["", "../up", ".hidden", "a b", "x/y"])
def test_export_refuses_a_name_that_is_not_a_plain_folder_name(workspace: Path, tmp_path: Path, name: str, capsys) -> None:
    script = load_script("export_experiment")
    code = run_cli(script.main, ["--name", name, "--workspace", str(workspace), "--out", str(tmp_path / "exp")])
    assert code == 2 and "--name" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()


def test_a_candidate_is_exported_into_the_experiment_it_was_chosen_for(workspace: Path, baseline: Path, tmp_path: Path, capsys) -> None:
    script = load_script("export_experiment")
    out = tmp_path / "experiments"
    args = ["--workspace", str(workspace), "--out", str(out), "--baseline", str(baseline)]
    assert run_cli(script.main, ["--name", "clip-5-seed1234", "--selection-for", "clip-1", *args]) == 2
    assert "no experiment at" in capsys.readouterr().err and not out.exists()
    assert run_cli(script.main, ["--name", "clip-1", *args]) == 0
    assert run_cli(script.main, ["--name", "clip-5-seed1234", "--selection-for", "clip-1", *args]) == 0
    experiment = load_experiment(out / "clip-1", list(fake_results.ARCHS))
    assert [c.name for c in experiment.selection] == ["clip-5-seed1234"]
    assert [p.parent.name for p in out.glob("*/summary.json")] == ["clip-1"]
    assert run_cli(script.main, ["--name", "clip-5-seed1234", "--selection-for", "clip-1", *args]) == 2


# ---------------------------------------------------------------------------- comparability


@pytest.fixture
def report_tree(tmp_path: Path):
    (tmp_path / "baseline").mkdir()
    return fake_results.make_tree(tmp_path / "baseline", fake_results.verification())


def _render_with(inputs, experiments: Path) -> str:
    import dataclasses

    return render(load_report_data(dataclasses.replace(inputs, experiments=experiments)))[0]


def test_a_comparable_experiment_is_answered_over_seeds(report_tree, workspace: Path, tmp_path: Path) -> None:
    experiments = tmp_path / "experiments"
    export_experiment(workspace, experiments / "clip-1", baseline=report_tree.params, question="Does clipping at 1 help?")
    md = _render_with(report_tree, experiments)
    appendix = md.split("### A.1 clip-1")[1]
    assert "*Does clipping at 1 help?* Changed from the baseline: `train.clip_norm` `null` → `1.0`" in " ".join(appendix.split())
    # bi-LSTM: 87.50/81.25 → 93.75/87.50, +6.25 on both seeds; the others unchanged
    appendix = appendix.replace("\u00a0", " ")  # "(n = 2)" is held together by no-break spaces
    assert "| 2-level bi-LSTM | 84.38 ± 4.42 (n = 2) | 90.62 ± 4.42 (n = 2) | +6.25, +6.25 | 2/2 | +6.25 [+6.25, +6.25] |" in appendix
    # the fixture's experiment changed no other model's numbers: those runs are the baseline's own models
    assert "| RNN | 71.88 ± 4.42 (n = 2) | 71.88 ± 4.42 (n = 2) | same model, same model | – | – |" in appendix
    assert (
        "*Same model as the baseline's run* (the same test accuracy and test loss, to the last bit): the 2-level bi-RNN on "
        "seeds 1234 and 7, the bi-RNN on seeds 1234 and 7 and the RNN on seeds 1234 and 7; the change did not alter them."
    ) in " ".join(appendix.split())
    assert "for the 2-level bi-RNN, bi-RNN and RNN the experiment tested the baseline's own models: no evidence either way." in appendix
    assert "**Conclusion.** It raises the test accuracy of the 2-level bi-LSTM on every seed, with an interval clear of 0" in appendix
    # and in the gap table, as a recipe comparable with this report's runs
    assert "| clip-1 | `train.clip_norm` `null` → `1.0` |" in md


def test_an_experiment_on_other_data_or_another_baseline_prints_no_difference(report_tree, tmp_path: Path) -> None:
    # the red team's subset report: 1 epoch on 2,000 reviews set against full-data experiments
    subset = make_workspace(tmp_path / "subset", with_clip(fake_results.params_yaml()), limit=2000)
    experiments = tmp_path / "experiments"
    export_experiment(subset, experiments / "subset-clip", baseline=report_tree.params)
    md = _render_with(report_tree, experiments)
    appendix = " ".join(md.split("### A.1 subset-clip")[1].split())
    assert "**Not comparable** with this report's runs: its runs read data.limit 2000 reviews per split, this report's null." in appendix
    assert "No difference is printed." in appendix and "| 2-level bi-LSTM |" not in appendix and "points" not in appendix
    assert "Not comparable with this report's runs, so left out: subset-clip" in " ".join(md.split())
    # an experiment compared with another baseline (here: 5 epochs) is not set beside this one
    five = tmp_path / "five.yaml"
    five.write_text(fake_results.params_yaml(epochs=5))
    ws = make_workspace(tmp_path / "ws5", with_clip(fake_results.params_yaml()))
    export_experiment(ws, tmp_path / "exp5" / "clip", baseline=five)
    experiment = load_experiment(tmp_path / "exp5" / "clip", list(fake_results.ARCHS))
    data = load_report_data(report_tree)
    result = comparison(experiment, data.params.model_dump(mode="json"), data.data_stats, {"bilstm2": {1234: 0.875}})
    assert not result.comparable and "train.epochs 5 there, 3 here" in result.reason and result.rows == []


def test_an_export_without_a_record_is_not_compared(report_tree, workspace: Path, tmp_path: Path) -> None:
    experiments = tmp_path / "experiments"
    export_experiment(workspace, experiments / "old", baseline=report_tree.params)
    (experiments / "old" / "experiment.yaml").unlink()
    md = " ".join(_render_with(report_tree, experiments).split())
    assert "it records no baseline params (exported before the record existed); export it again" in md


def test_values_from_an_experiments_files_reach_the_report_as_text_never_as_markup(report_tree, workspace: Path, tmp_path: Path) -> None:
    experiments = tmp_path / "experiments"
    export_experiment(workspace, experiments / "clip-1", baseline=report_tree.params)
    params = experiments / "clip-1" / "params.yaml"
    hostile = "<img src=x onerror=alert(1)>"
    params.write_text(params.read_text().replace("lr: 0.001", "lr: 0.001, device: cpu") + f"# {hostile}\n")
    doc = yaml.safe_load(params.read_text())
    doc["embedding"]["glove_path"] = f"`{hostile}` [x](http://evil)"
    params.write_text(yaml.safe_dump(doc))
    md = _render_with(report_tree, experiments)
    assert "`embedding.glove_path` `null` → `'<img src=x onerror=alert(1)>' [x](http://evil)`" in md
    outside_code = re.sub(r"`[^`]*`", "", md)
    assert "<img" not in outside_code and "](http" not in outside_code
    # an experiment's question is printed text too: refused at export, and on load
    with pytest.raises(UserError, match="--question: holds '<'"):
        export_experiment(workspace, experiments / "q", baseline=report_tree.params, question=hostile)
    record = experiments / "clip-1" / "experiment.yaml"
    record.write_text(record.read_text().replace("question: ''", f"question: '{hostile}'"))
    with pytest.raises(UserError, match="experiment.yaml: question holds '<'"):
        load_experiment(experiments / "clip-1", list(fake_results.ARCHS))
    # and a folder name that is not plain is refused before anything prints it
    (experiments / "clip-1").rename(experiments / "a<b")
    with pytest.raises(UserError, match="an experiment's folder name is printed in the report"):
        _render_with(report_tree, experiments)


def test_more_seeds_of_the_same_recipe_are_pooled_with_the_baseline(report_tree, tmp_path: Path) -> None:
    # the baseline recipe on two other seeds (3 and 4), one of its bi-RNN runs at 31.25 %
    root = tmp_path / "ws"
    (root / "results").mkdir(parents=True)
    (root / "params.yaml").write_text(fake_results.params_yaml(seeds=(3, 4), archs=("birnn1",)))
    fake_results.write_runs(root / "results" / "runs", seeds=(3, 4), archs=("birnn1",), test_acc={"birnn1": (0.3125, 0.6875)})
    summarize(("birnn1",), (3, 4), root / "results" / "runs", root / "results")
    write_json(root / "results" / "data" / "stats.json", fake_results.data_stats())
    experiments = tmp_path / "experiments"
    export_experiment(root, experiments / "birnn1-seeds", baseline=report_tree.params, question="How many bi-RNN seeds end at chance?")
    md = " ".join(_render_with(report_tree, experiments).split())
    # nothing changed: the gap table calls it more seeds, and counts its runs below 55 %
    assert "| birnn1-seeds | nothing: more seeds of this recipe | bi-RNN: 1 of 2 (lowest 31.25) |" in md
    # the appendix pools the baseline's two bi-RNN runs (56.25, 43.75) with these two
    assert (
        "**Conclusion.** The same recipe as the baseline on other seeds; with the baseline's runs, "
        "the bi-RNN's 4 runs span 31.25–68.75 %, 2 of them below 55 %."
    ) in md
