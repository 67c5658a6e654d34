"""Stage diagnose: the gradient reaching each position, its summary, the sample, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from imdb_rnn.config import ModelParams
from imdb_rnn.data.dataset import EncodedSplit, save_split
from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.train.diagnostics import gradient_flow, position_gradients, sample_batch, summarize_profile
from imdb_rnn.train.models import build_model

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
RNN = ModelParams(class_name="Tiny", title="tiny", cell="rnn", embedding_dim=6, hidden_dim=5, num_layers=1, bidirectional=False, dropout=0.5)


def split_of(lengths: list[int], vocab: int = 30, seed: int = 0) -> EncodedSplit:
    rng = np.random.default_rng(seed)
    reviews = [rng.integers(2, vocab, size=n).tolist() for n in lengths]
    return EncodedSplit.from_lists(reviews, labels=[i % 2 for i in range(len(lengths))], ids=range(len(lengths)), ratings=[1] * len(lengths))


def test_profile_is_the_mean_of_each_review_s_own_gradient():
    torch.manual_seed(0)
    model = build_model(RNN.model_copy(update={"bidirectional": True, "num_layers": 2}), 30)
    text = torch.randint(2, 30, (9, 3))
    labels = torch.tensor([1.0, 0.0, 1.0])
    profile = position_gradients(model, text, labels)

    expected = np.zeros(9)
    for b in range(3):
        embedded = model.embedding(text[:, b : b + 1]).detach().requires_grad_()
        # The rest of the model on this one review, from its embedding (eval mode: no dropout).
        _, hidden = model.rnn_layer(embedded)
        logit = model.fc(torch.cat((hidden[-2], hidden[-1]), dim=1)).squeeze(1)
        nn.functional.binary_cross_entropy_with_logits(logit, labels[b : b + 1]).backward()
        expected += torch.linalg.vector_norm(embedded.grad[:, 0], dim=1).numpy() / 3
    assert profile == pytest.approx(expected, rel=1e-5)
    assert not model.training


def test_a_contracting_tanh_rnn_forgets_the_start_and_a_bidirectional_one_both_ends():
    torch.manual_seed(0)
    uni = build_model(RNN, 30)
    bi = build_model(RNN.model_copy(update={"bidirectional": True}), 30)
    with torch.no_grad():
        for model in (uni, bi):
            for name, weight in model.rnn_layer.named_parameters():
                if name.startswith("weight_hh"):
                    weight.copy_(0.3 * torch.eye(5))  # contracts: the gradient shrinks ~0.3× a step
    text = torch.randint(2, 30, (60, 4))
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    one_way = summarize_profile(position_gradients(uni, text, labels))
    two_way = summarize_profile(position_gradients(bi, text, labels))
    assert one_way["last_over_middle"] > 1e6 and one_way["last_over_first"] > 1e6
    assert two_way["last_over_middle"] > 1e6 and 0.01 < two_way["last_over_first"] < 100


def test_summary_averages_ten_positions_at_each_end_and_in_the_middle():
    profile = np.array([2.0] * 10 + [0.5] * 20 + [8.0] * 10)
    assert summarize_profile(profile) == {"first": 2.0, "middle": 0.5, "last": 8.0, "last_over_middle": 16.0, "last_over_first": 4.0}
    flushed = summarize_profile(np.array([0.0] * 40 + [1.0] * 10))
    assert flushed["last_over_middle"] == float("inf") and flushed["last_over_first"] == float("inf")


def test_sample_reads_the_first_tokens_of_long_enough_reviews_and_is_seeded():
    split = split_of([5, 30, 25, 40, 3, 22])
    text, labels = sample_batch(split, length=20, reviews=3, seed=4)
    assert text.shape == (20, 3)
    starts = {tuple(split.review(i)[:20].tolist()): i for i in range(len(split)) if split.lengths[i] >= 20}
    chosen = [starts[tuple(text[:, b].tolist())] for b in range(3)]
    assert labels.tolist() == [float(split.labels[i]) for i in chosen]
    assert torch.equal(sample_batch(split, length=20, reviews=3, seed=4)[0], text)
    # Fewer than 5 reach 20 tokens: the median length (23.5 → 23) and the 3 reviews reaching it.
    assert sample_batch(split, length=20 + 10, reviews=5, seed=4)[0].shape == (23, 3)
    assert sample_batch(split, length=20, reviews=5, seed=4)[0].shape == (20, 4)
    with pytest.raises(UserError, match=r"too small to measure gradient flow \(3 reviews, median length 7 tokens; at least 10"):
        sample_batch(split_of([5, 7, 9]), length=200, reviews=256, seed=0)


def test_trained_and_initial_profiles_are_measured_on_the_same_reviews():
    torch.manual_seed(1)
    trained, initial = build_model(RNN, 30), build_model(RNN, 30)
    doc = gradient_flow(trained, trained, split_of([25] * 6), length=20, reviews=4, seed=0)
    assert doc["trained"] == doc["initial"]
    doc = gradient_flow(trained, initial, split_of([25] * 6), length=20, reviews=4, seed=0)
    assert doc["trained"]["profile"] != doc["initial"]["profile"] and len(doc["trained"]["profile"]) == 20


def test_cli_measures_a_checkpoint_against_its_seed_s_initialisation(tmp_path, capsys):
    torch.manual_seed(7)
    initial = build_model(RNN, 30)
    trained = build_model(RNN, 30)  # a stand-in for training: other weights than seed 7's draw
    torch.save(
        {
            "state_dict": trained.state_dict(),
            "config": {"model": RNN.model_dump(mode="json")},
            "vocab_size": 30,
            "arch": "tiny",
            "seed": 7,
            "vocab_fingerprint": "x",
        },
        tmp_path / "tiny.pt",
    )
    split = split_of([30] * 10)
    save_split(tmp_path / "valid.npz", split)
    out = tmp_path / "diagnostics" / "tiny.json"
    args = ["--checkpoint", str(tmp_path / "tiny.pt"), "--data", str(tmp_path / "valid.npz"), "--out", str(out), "--length", "25", "--reviews", "6"]
    assert run_cli(load_script("diagnose").main, args) == 0
    doc = json.loads(out.read_text())
    assert doc["arch"] == "tiny" and doc["training_seed"] == 7 and doc["length"] == 25 and doc["reviews"] == 6
    assert "tiny trained: |grad| first" in capsys.readouterr().out

    # The initial profile is seed 7's recurrent and output layers with the trained embedding.
    initial.embedding.weight.data.copy_(trained.embedding.weight.data)
    text, labels = sample_batch(split, 25, 6, seed=0)
    assert doc["initial"]["profile"] == pytest.approx(position_gradients(initial, text, labels).tolist(), rel=1e-6)
    assert doc["trained"]["profile"] == pytest.approx(position_gradients(trained, text, labels).tolist(), rel=1e-6)

    save_split(tmp_path / "valid.npz", split_of([6] * 10))
    assert run_cli(load_script("diagnose").main, args) == 2
    assert "too small to measure gradient flow (10 reviews, median length 6 tokens" in capsys.readouterr().err
