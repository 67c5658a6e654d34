"""Gradient flow: how much each position of a review moves the loss of a trained classifier.

    from imdb_rnn.train.diagnostics import gradient_flow
    doc = gradient_flow(model, valid_split, length=200, reviews=256, seed=0)

The models classify from the final hidden state, so a word influences the prediction only
through the recurrence between it and the end of the review (and, for a bidirectional
model, between it and the start). For each of ``reviews`` validation reviews with at least
``length`` tokens (a seeded sample; never the test split), the first ``length`` tokens are
read as one equal-length batch, in evaluation mode (no dropout), and the L2 norm of
d loss / d (embedding at position t) is averaged over the reviews, for every t. A tanh RNN
whose gradient vanishes shows norms that fall by orders of magnitude away from the end(s);
an LSTM keeps them within a small factor.

The same measurement on the untrained model (same architecture, freshly initialised from
``seed``) shows whether the decay is there from the start or came with training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from imdb_rnn.data.dataset import EncodedSplit
from imdb_rnn.errors import UserError
from imdb_rnn.train.models import RecurrentClassifier

EDGE = 10  # positions averaged at each end and in the middle for the summary ratios


def sample_batch(split: EncodedSplit, length: int, reviews: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``text`` = [length, reviews]: the first ``length`` tokens of a seeded sample of the reviews
    that have at least that many, and their ``labels`` = [reviews].

    On small data (a ``data.limit`` subset, the test fixtures), where fewer than ``reviews``
    reviews reach ``length``, it reads the median review length instead, if shorter, and as
    many reviews as reach that: the returned shape says what was measured.
    """
    lengths = split.lengths
    if int((lengths >= length).sum()) < reviews:
        length = min(length, int(np.median(lengths))) if len(lengths) else 0
        reviews = min(reviews, int((lengths >= length).sum()))
    if length < EDGE or reviews < 1:
        raise UserError(
            f"the validation split is too small to measure gradient flow ({len(lengths)} reviews, median length "
            f"{int(np.median(lengths)) if len(lengths) else 0} tokens; at least {EDGE} tokens are needed); use more data (data.limit)"
        )
    eligible = np.flatnonzero(lengths >= length)
    chosen = np.sort(np.random.default_rng(seed).choice(eligible, size=reviews, replace=False))
    positions = split.offsets[chosen][None, :] + np.arange(length)[:, None]
    text = torch.from_numpy(split.tokens[positions].astype(np.int64))
    labels = torch.from_numpy(split.labels[chosen].astype(np.float32))
    return text, labels


def position_gradients(model: RecurrentClassifier, text: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Mean over the batch of ||d loss / d embedding_t||, for each position t: float [length].

    The loss is summed over the reviews, so each review's gradient is its own (evaluation
    mode: nothing couples the members of a batch).
    """
    captured: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        output.retain_grad()
        captured.append(output)

    model.eval()
    model.zero_grad()
    handle = model.embedding.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            loss = nn.functional.binary_cross_entropy_with_logits(model(text), labels, reduction="sum")
            loss.backward()
    finally:
        handle.remove()
    gradient = captured[0].grad
    # gradient = [length, batch, emb dim]
    # In float64: squaring float32 values below ~1e-19 would underflow to zero.
    return torch.linalg.vector_norm(gradient.double(), dim=2).mean(dim=1).numpy()


def summarize_profile(profile: np.ndarray) -> dict[str, float]:
    """Mean norm of the first, middle and last ``EDGE`` positions, and the ratios that show decay."""
    middle = len(profile) // 2
    first = float(profile[:EDGE].mean())
    centre = float(profile[middle - EDGE // 2 : middle + EDGE - EDGE // 2].mean())
    last = float(profile[-EDGE:].mean())
    return {
        "first": first,
        "middle": centre,
        "last": last,
        "last_over_middle": last / centre if centre > 0 else float("inf"),
        "last_over_first": last / first if first > 0 else float("inf"),
    }


def gradient_flow(
    trained: RecurrentClassifier, initial: RecurrentClassifier, split: EncodedSplit, *, length: int, reviews: int, seed: int
) -> dict[str, Any]:
    """The gradient profile of the trained model and of a fresh one, on the same reviews."""
    text, labels = sample_batch(split, length, reviews, seed)
    result: dict[str, Any] = {"length": text.shape[0], "reviews": text.shape[1], "sample_seed": seed, "edge": EDGE}
    for name, model in (("trained", trained), ("initial", initial)):
        profile = position_gradients(model, text, labels)
        result[name] = {"profile": [float(v) for v in profile], **summarize_profile(profile)}
    return result
