"""The published report's sentences that explain a result, checked against the committed results.

Each test renders the report from the repository's own ``results/`` (the published runs and the
committed experiments) with the published params (``report/params.yaml``, never the user's
``params.yaml``) and asserts the claims a careful reader checked by hand: what the numbers do and
do not settle, and the scope each measurement has. A claim the numbers stop supporting fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imdb_rnn.report.build import render
from imdb_rnn.report.inputs import load_report_data

from fake_results import inputs_under

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


@pytest.fixture(scope="module")
def md() -> str:
    inputs = inputs_under(RESULTS, ROOT / "report" / "params.yaml", experiments=RESULTS / "experiments")
    markdown, _, _ = render(load_report_data(inputs))
    return " ".join(markdown.replace("\u00a0", " ").split())


def test_the_test_sampling_error_depends_on_the_accuracy(md: str) -> None:
    # 95 % half-width of one model's accuracy on 25,000 reviews: 1.96·sqrt(p(1−p)/n) at 88.00 % and at 67.93 %
    assert "would move by about ±0.40 to ±0.58 points (95 %)" in md
    assert "Pairing by seed number is a convention, not a claim that two architectures' runs of one seed are alike." in md


def test_the_lstm_verdict_stands_without_the_uncorrected_intervals(md: str) -> None:
    assert ("the 2-level bi-LSTM's lowest run (87.44 %) is above every run of the 2-level bi-RNN, bi-RNN and RNN (highest 77.56 %)") in md


def test_one_gradient_checkpoint_per_model_cannot_test_the_decay(md: str) -> None:
    # the measured runs (seed 1234): 68.62, 70.58, 71.18 % span 2.56 points; the RNN's seed SD is 6.94
    assert "These checkpoints' accuracies span 2.56 points, less than the 6.94-point standard deviation between seeds of the RNN" in md
    assert "does not explain" not in md


def test_the_length_drops_do_not_follow_the_decay(md: str) -> None:
    assert "the tanh RNNs' mean drops are bi-RNN +3.99, 2-level bi-RNN +5.11 and RNN +3.87 points: they do not rise with the decay" in md
    # the decay is one checkpoint per model: the cut cannot tell, rather than "does not support"
    assert "so this cut cannot tell whether the decay is what costs them long reviews" in md


def test_the_gap_verdict_says_what_the_screens_found_and_left_open(md: str) -> None:
    assert "The padded-batches experiment puts the RNN (51.53 %; the original 69.49 %) at chance instead" in md
    assert "In the padded-batches experiment, the bi-RNN's last epoch (seed 1234) validated at 53.11 %, but epoch 3's weights were tested" in md
    # the baseline's own runs: what the last epoch would have given, from the recorded validation accuracy
    assert "validated at 62.17 % at the lowest (2-level bi-RNN, seed 2); 0 of the 6 runs below 55 %" in md
    assert "the bi-RNN after epoch 4 of seed 1234" in md  # its 50.89 % validation epoch, which the checkpoint rule skipped


def test_an_experiment_run_identical_to_the_baseline_is_called_the_same_model(md: str) -> None:
    # last-epoch: the bi-RNN's best epoch on seed 1234 was its last, so the "experiment" retested the baseline's model
    assert "the bi-RNN on seed 1234; its best epoch was the last, so both rules test the same weights" in md
    # clip-5: the 2-level bi-RNN's seed-2 run was tested at epoch 1, before any gradient reached norm 5
    assert "the 2-level bi-RNN on seed 2; its gradient norm stayed below 5 up to the epoch tested (largest 3.74)" in md


def test_plain_sgd_puts_both_tanh_rnns_at_chance_which_is_not_the_originals_pattern(md: str) -> None:
    # sgd: bi-RNN 53.19, 53.85, 54.65 % and RNN 52.60, 53.83, 51.59 % (the original's RNN: 69.49 %)
    assert "| sgd | `train.optimizer` `adam` → `sgd` | bi-RNN: 3 of 3 (lowest 53.19) | RNN: 3 of 3 (lowest 51.59) |" in md
    assert (
        "the sgd experiment puts runs of the bi-RNN below 55 % (it did not run the 2-level bi-RNN), but also runs of the RNN, "
        "which the original has well above chance: it reproduces their chance level, not the original's pattern"
    ) in md


def test_runs_that_are_the_baselines_own_models_are_no_evidence_in_the_gap_table(md: str) -> None:
    # last-epoch's bi-RNN run and clip-5's 2-level bi-RNN seed-2 run are the baseline's models
    assert "| last-epoch | `train.checkpoint` `best` → `last` | bi-RNN: its run is the baseline's model |" in md
    assert "2-level bi-RNN: 0 of 2 (lowest 69.29; 1 run the baseline's model, left out)" in md
    assert "No other single change" not in md


def test_ten_bi_rnn_seeds_bound_how_often_this_recipe_lands_at_chance(md: str) -> None:
    # seeds 3–9: 70.06, 73.99, 71.58, 72.80, 71.09, 73.22, 67.11 %; with 1234, 1, 2: none below 55 %
    assert "| birnn1-seeds | nothing: more seeds of this recipe | bi-RNN: 0 of 7 (lowest 67.11) | – |" in md
    # 0 of 10: the one-sided 95 % Clopper-Pearson bound is 1 − 0.05^(1/10) = 25.9 %
    assert "this recipe has 10 runs of the bi-RNN, 0 below 55 % (lowest 67.11 %): if chance-level runs are part of its seed" in md
    assert "(a one-sided 95 % upper bound on their rate is 26 %)" in md
    assert "the bi-RNN's 10 runs span 67.11–74.02 %, 0 of them below 55 %" in md
