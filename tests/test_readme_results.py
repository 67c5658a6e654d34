"""README's Results block: written from the published files, never typed (imdb_rnn.report.readme)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.report.build import write_report
from imdb_rnn.report.readme import BEGIN, END, replace_block, results_block

import fake_results
from conftest import load_script
from fake_results import make_tree

README = f"# Project\n\nintro\n\n## Results\n\n{BEGIN}\nold numbers 12.34 %\n{END}\n\n## After\n\ntail\n"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder as publishing leaves it: results/ from the fixture runs, report/ rendered from them."""
    root = tmp_path_factory.mktemp("published")
    inputs = make_tree(root, fake_results.verification())
    write_report(inputs, root / "report")
    return root


@pytest.fixture(scope="module")
def block(published: Path) -> str:
    return results_block(published)


def test_table_1_rows_are_the_fixture_runs_means_seeds_times_and_the_original(block: str) -> None:
    # fixture: bi-LSTM 87.50 and 81.25 % on seeds 1234 and 7 (mean 84.38, SD 4.42); each run 100–110 s
    assert "| 2-level bi-LSTM (`bilstm2`) | 1,446,400 | 84.38 ± 4.42 % | 87.50, 81.25 | 2 min | 85.81 % |" in block
    assert "| RNN (`rnn1`) | 60,400 | 71.88 ± 4.42 % | 75.00, 68.75 | 2 min | 69.49 % |" in block
    assert "| test accuracy, mean ± SD (n = 2) | per seed (1234, 7) |" in block


def test_provenance_names_the_commits_data_hardware_and_the_params_hash(block: str, published: Path) -> None:
    digest = hashlib.sha256((published / "report" / "params.yaml").read_bytes()).hexdigest()[:16]
    assert "All 8 runs (4 architectures × seeds 1234, 7)" in block
    assert "were trained at commits `111111111111` and `222222222222`, 3 epochs each" in block
    assert "on 17,500 training, 7,500 validation and 25,000 test reviews" in block
    assert f"sha256 `{digest}`…" in block
    assert "`numerics.cpu: avx2`" in block


def test_times_come_from_each_run(published: Path, tmp_path: Path) -> None:
    root = tmp_path / "slow"
    shutil.copytree(published, root)
    # one bi-RNN run took 30 minutes, the other 45: the row gives the range
    for seed, seconds in ((1234, 1800.0), (7, 2700.0)):
        path = root / "results" / "runs" / "birnn1" / f"seed{seed}" / "metrics.json"
        metrics = json.loads(path.read_text(encoding="utf-8"))
        metrics["train_seconds"] = seconds
        path.write_text(json.dumps(metrics), encoding="utf-8")
    assert "| 56.25, 43.75 | 30–45 min | 49.51 % |" in results_block(root)


def test_the_discussion_is_the_report_s_own(block: str, published: Path) -> None:
    report = (published / "report" / "report.md").read_text(encoding="utf-8")
    discussion = report.split("### 3.6 Discussion\n", 1)[1].split("\n## ", 1)[0].strip()
    assert discussion and discussion in block
    assert "The report's Discussion (`report/report.pdf`, section 3.6)" in block


def test_the_appendix_stays_in_the_report(block: str) -> None:
    # the README is read in five minutes: Table 1 and the Discussion, the experiments' tables stay in the report
    assert "Appendix" not in block and "####" not in block


def test_replace_block_changes_only_the_text_between_the_markers(block: str) -> None:
    updated = replace_block(README, block)
    assert updated.startswith("# Project\n\nintro\n\n## Results\n\n" + BEGIN)
    assert updated.endswith(END + "\n\n## After\n\ntail\n")
    assert "old numbers" not in updated
    assert replace_block(updated, block) == updated


@pytest.mark.parametrize("readme", ["no markers\n", f"{END}\n{BEGIN}\n", f"{BEGIN}\n{END}\n{BEGIN}\n{END}\n"])
def test_replace_block_refuses_missing_doubled_or_reversed_markers(readme: str) -> None:
    with pytest.raises(UserError, match="results markers"):
        replace_block(readme, "x")


def test_cli_check_fails_on_a_stale_block_and_passes_after_writing(published: Path, tmp_path: Path, capsys) -> None:
    main = load_script("readme_results").main
    readme = tmp_path / "README.md"
    readme.write_text(README, encoding="utf-8")
    args = ["--root", str(published), "--readme", str(readme)]
    with pytest.raises(SystemExit) as stale:
        run_cli(main, [*args, "--check"])
    assert stale.value.code == 1 and "is stale; run `make readme`" in capsys.readouterr().out
    assert readme.read_text(encoding="utf-8") == README  # --check writes nothing
    assert run_cli(main, args) == 0
    assert run_cli(main, [*args, "--check"]) == 0
    assert "agrees with results/ and report/" in capsys.readouterr().out


def test_a_project_without_a_published_report_gets_one_line_naming_the_stage(published: Path, tmp_path: Path, capsys) -> None:
    root = tmp_path / "project"
    shutil.copytree(published / "results", root / "results")
    (root / "README.md").write_text(README, encoding="utf-8")
    assert run_cli(load_script("readme_results").main, ["--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "report/params.yaml" in err and "stage `report`" in err
    assert (root / "README.md").read_text(encoding="utf-8") == README
