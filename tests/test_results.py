"""The published run, as committed: one commit trained it all, and every number agrees across files.

These read results/, report/ and README.md as they are in the repository (docs/pipeline.md, output contract).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

import pytest
import yaml

from imdb_rnn.records import read_predictions

from conftest import ROOT

REPORT_PARAMS = ROOT / "report" / "params.yaml"

# The report stage writes report/params.yaml since the predictions and the one-commit rule came
# in; a published run older than that cannot meet this contract. Until it is republished
# (docs/maintaining.md: Publishing a run) these checks are reported as skipped, with this reason.
pytestmark = pytest.mark.skipif(
    not REPORT_PARAMS.is_file(), reason="the committed published run predates report/params.yaml and predictions: republish it"
)


@pytest.fixture(scope="module")
def published() -> dict:
    params = yaml.safe_load(REPORT_PARAMS.read_text(encoding="utf-8"))
    archs, seeds = params["train"]["archs"], params["train"]["seeds"] or [params["train"]["seed"]]
    runs = {(a, s): json.loads((ROOT / "results" / "runs" / a / f"seed{s}" / "metrics.json").read_text()) for a in archs for s in seeds}
    return {"params": params, "archs": archs, "seeds": seeds, "runs": runs}


def test_every_published_run_was_trained_at_one_clean_commit_that_is_an_ancestor_of_head(published):
    versions = {m["code_version"] for m in published["runs"].values()}
    assert len(versions) == 1, versions
    (version,) = versions
    assert re.fullmatch(r"[0-9a-f]{40}", version), f"{version}: trained from uncommitted code"
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True, text=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout")
    ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", version, "HEAD"], cwd=ROOT, capture_output=True)
    assert ancestor.returncode == 0, f"{version} is not an ancestor of HEAD"


def test_every_run_has_its_predictions_and_they_give_its_test_accuracy(published):
    for (arch, seed), metrics in published["runs"].items():
        predictions = read_predictions(ROOT / "results" / "runs" / arch / f"seed{seed}" / "predictions.csv.gz")
        assert predictions.accuracy == metrics["test_acc"], (arch, seed)
        assert len(predictions) == 25_000 if published["params"]["data"]["limit"] is None else len(predictions) > 0
        assert metrics["numerics"]["setting"] == published["params"]["numerics"]["cpu"]
        assert metrics["fingerprints"]["early"]["batches"] > 0


def test_the_report_prints_the_hash_of_the_params_beside_it():
    digest = hashlib.sha256(REPORT_PARAMS.read_bytes()).hexdigest()[:12]  # as the provenance block prints it
    assert f"sha256 `{digest}`" in (ROOT / "report" / "report.md").read_text(encoding="utf-8")


def test_readme_table_1_agrees_with_the_summary(published):
    summary = json.loads((ROOT / "results" / "summary.json").read_text())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for arch in published["archs"]:
        entry = summary[arch]
        row = next(line for line in readme.splitlines() if line.startswith("| ") and f"(`{arch}`)" in line)
        mean, std = f"{100 * entry['test_acc_mean']:.2f}", f"{100 * entry['test_acc_std']:.2f}"
        per_seed = ", ".join(f"{100 * entry['test_acc_by_seed'][str(s)]:.2f}" for s in published["seeds"])
        assert f"{mean} ± {std} %" in row and per_seed in row, (arch, row)


def test_readme_results_block_is_what_the_published_files_give():
    from imdb_rnn.report.readme import replace_block, results_block

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert replace_block(readme, results_block(ROOT)) == readme, "README's Results block is stale: run `make readme`"
