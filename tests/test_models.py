"""The four architectures print as in the original report and have its parameter counts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from imdb_rnn.config import ModelParams
from imdb_rnn.data.vocab import PAD_ID
from imdb_rnn.errors import UserError
from imdb_rnn.train.models import build_model, rnn_parameter_count, total_parameter_count

REPORT_VOCAB = 25002

# The params.yaml entries of the four architectures.
ARCHS = {
    "bilstm2": ModelParams(class_name="MyRNN", title="2-level bi-LSTM", cell="lstm", num_layers=2, bidirectional=True),
    "birnn2": ModelParams(class_name="biRNN_2", title="2-level bi-RNN", cell="rnn", num_layers=2, bidirectional=True),
    "birnn1": ModelParams(class_name="biRNN_1", title="bi-RNN", cell="rnn", num_layers=1, bidirectional=True),
    "rnn1": ModelParams(class_name="RNN_1", title="RNN", cell="rnn", num_layers=1, bidirectional=False),
}

# The original report's printouts (its Part 1), in PyTorch's own layout: the
# report's copy indents by four spaces and carries trailing spaces, which print never does.
REPORT_PRINTOUTS = {
    "bilstm2": """\
MyRNN(
  (embedding): Embedding(25002, 100, padding_idx=1)
  (lstm): LSTM(100, 200, num_layers=2, dropout=0.5, bidirectional=True)
  (fc): Linear(in_features=400, out_features=1, bias=True)
  (dropout): Dropout(p=0.5, inplace=False)
)""",
    "birnn2": """\
biRNN_2(
  (embedding): Embedding(25002, 100, padding_idx=1)
  (rnn): RNN(100, 200, num_layers=2, dropout=0.5, bidirectional=True)
  (fc): Linear(in_features=400, out_features=1, bias=True)
  (dropout): Dropout(p=0.5, inplace=False)
)""",
    "birnn1": """\
biRNN_1(
  (embedding): Embedding(25002, 100, padding_idx=1)
  (rnn): RNN(100, 200, dropout=0.5, bidirectional=True)
  (fc): Linear(in_features=400, out_features=1, bias=True)
  (dropout): Dropout(p=0.5, inplace=False)
)""",
    "rnn1": """\
RNN_1(
  (embedding): Embedding(25002, 100, padding_idx=1)
  (rnn): RNN(100, 200, dropout=0.5)
  (fc): Linear(in_features=200, out_features=1, bias=True)
  (dropout): Dropout(p=0.5, inplace=False)
)""",
}

# Table 1 of the report, and the totals that follow from it (embedding 25002 × 100 + fc).
RNN_PARAMS = {"bilstm2": 1_446_400, "birnn2": 361_600, "birnn1": 120_800, "rnn1": 60_400}
TOTAL_PARAMS = {"bilstm2": 3_947_001, "birnn2": 2_862_201, "birnn1": 2_621_401, "rnn1": 2_560_801}


@pytest.fixture(scope="module")
def models():
    return {arch: build_model(params, REPORT_VOCAB) for arch, params in ARCHS.items()}


@pytest.mark.parametrize("arch", ARCHS)
def test_print_matches_report_line_for_line(models, arch):
    assert str(models[arch]).splitlines() == REPORT_PRINTOUTS[arch].splitlines()


@pytest.mark.parametrize("arch", ARCHS)
def test_parameter_counts(models, arch):
    assert rnn_parameter_count(models[arch]) == RNN_PARAMS[arch]
    assert total_parameter_count(models[arch]) == TOTAL_PARAMS[arch]


@pytest.mark.parametrize("arch", ARCHS)
def test_construction_emits_no_warning(arch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_model(ARCHS[arch], 50)


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_gives_one_logit_per_review(arch):
    model = build_model(ARCHS[arch], 50).eval()
    text = torch.randint(0, 50, (7, 3))  # [sent len, batch]
    assert model(text).shape == (3,)
    assert model(text[:, :1]).shape == (1,)


def test_classifier_reads_the_last_layer_of_both_directions():
    """The logit depends on the first token through the backward direction's final state."""
    params = ModelParams(class_name="Tiny", title="tiny", cell="gru", embedding_dim=4, hidden_dim=3, num_layers=2, bidirectional=True, dropout=0.0)
    torch.manual_seed(0)
    model = build_model(params, 20).eval()
    assert model.gru.hidden_size == 3 and model.fc.in_features == 6
    text = torch.randint(2, 20, (5, 1))
    changed = text.clone()
    changed[0, 0] = 1 if text[0, 0] != 1 else 2
    with torch.no_grad():
        assert not torch.equal(model(text), model(changed))


@pytest.mark.parametrize("arch", ARCHS)
def test_padded_batch_reads_like_each_review_alone(arch):
    """Evaluation's padded path and the tutorial's packed path both equal reading each review
    unpadded, whatever the padding holds; the padded path draws nothing from the RNG."""
    params = ARCHS[arch].model_copy(update={"embedding_dim": 6, "hidden_dim": 5})
    torch.manual_seed(1)
    model = build_model(params, 40).eval()
    reviews = [torch.randint(2, 40, (n,)) for n in (7, 3, 5, 1)]
    lengths = torch.tensor([7, 3, 5, 1])
    padded = nn.utils.rnn.pad_sequence(reviews, padding_value=PAD_ID)  # [7, 4]
    garbage = padded.clone()
    garbage[padded == PAD_ID] = 39  # a real word where the padding is: must change nothing
    with torch.no_grad():
        alone = torch.cat([model(review.unsqueeze(1)) for review in reviews])
        rng_before = torch.get_rng_state()
        together = model(padded, lengths)
        assert torch.equal(torch.get_rng_state(), rng_before)
        assert torch.allclose(model(garbage, lengths), alone, atol=1e-6)
        packed = model.forward_packed(padded, lengths)
    assert torch.allclose(together, alone, atol=1e-6)
    assert torch.allclose(packed, alone, atol=1e-6)


def test_padded_path_trains_the_model_s_own_weights():
    """Gradients of the padded path land on the recurrent layer's parameters (shared, not copied)."""
    model = build_model(ARCHS["bilstm2"].model_copy(update={"embedding_dim": 6, "hidden_dim": 5}), 40)
    text = torch.randint(2, 40, (6, 3))
    model(text, torch.tensor([6, 2, 4])).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.rnn_layer.parameters())


def test_one_layer_dropout_is_shown_but_inactive():
    model = build_model(ARCHS["rnn1"], 30).train()
    assert model.rnn.dropout == 0.5 and model.rnn.num_layers == 1
    embedded = torch.randn(6, 2, 100)
    # In training mode an active dropout would make two passes differ.
    assert torch.equal(model.rnn(embedded)[0], model.rnn(embedded)[0])


def test_pretrained_embedding_is_copied_with_a_zero_pad_row():
    vectors = np.arange(50 * 100, dtype=np.float32).reshape(50, 100)
    model = build_model(ARCHS["rnn1"], 50, embedding=vectors)
    weight = model.embedding.weight.detach().numpy()
    assert np.array_equal(weight[PAD_ID], np.zeros(100, dtype=np.float32))
    rows = [i for i in range(50) if i != PAD_ID]
    assert np.array_equal(weight[rows], vectors[rows])


def test_pretrained_embedding_of_wrong_shape_is_refused():
    with pytest.raises(UserError, match=r"shape \(50, 99\).*\(50, 100\)"):
        build_model(ARCHS["rnn1"], 50, embedding=np.zeros((50, 99), dtype=np.float32))
