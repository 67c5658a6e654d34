"""Length-bucketed batches: every batch is one dense ``[length, batch]`` tensor, no padding.

Why: on CPU a recurrent layer runs its fast fused kernel only when every sequence in the
batch has the same length. A packed batch whose lengths differ, even by one token, is
20–50× slower (docs/design-facts.md), and a padded batch read without packing feeds ``<pad>`` into
the recurrence (for a bidirectional model, as the start of its reverse direction).

Training (:func:`train_batches`): sort the reviews by length, with a random tiebreak drawn
from ``(seed, epoch)``; cut the sorted list into consecutive chunks of ``batch_size``; read
every member of a chunk up to the chunk's shortest length (its first ``L`` tokens). Sorted
neighbours have nearly equal lengths, so little is dropped (the plan reports how much); the
order of the batches is then shuffled, again from ``(seed, epoch)``. The plan depends only
on the lengths, the seed and the epoch, so a resumed run sees the same batches.

Evaluation (:func:`eval_batches`): every token of every review is read. The reviews, sorted
by length, are cut into consecutive chunks of ``batch_size``, right-padded to the chunk's
longest member, and each review's own length goes with the batch: the model reads every
sequence only up to its length, in both directions (``RecurrentClassifier.forward`` with
``lengths``), so padding never enters the result. Sorted neighbours differ little in
length, so few padded steps are computed (about 8 % on IMDB), and full batches run the
fused kernels about twice as fast as batches of one exact length (on IMDB those hold some
20 reviews on average). A chunk also stops before its padded size (members × longest
member) would pass ``EVAL_TOKEN_BUDGET``, so one very long review cannot make its whole
batch that long; a review longer than the budget is a batch of its own.

Padded, tutorial style (``train.batching: padded``, an ablation: :func:`padded_train_batches`):
what torchtext's ``BucketIterator`` did for the tutorials the original followed. The
shuffled reviews are cut into pools of ``POOL_BATCHES`` batches, each pool sorted by length
and cut into batches, and the batches shuffled; each batch is right-padded to its longest
member and the model reads it whole, without lengths (:class:`BatchLoader` with
``read_padding``), so a shorter review's final state comes after its ``<pad>`` steps.
Evaluation then reads the same padded batches of :func:`eval_batches` through the padding.

Empty reviews (no tokens after tokenization): training skips them — they carry no signal
and would force a zero-length chunk — and the plan counts them. Evaluation keeps them,
read as a single ``<pad>`` token (a zero vector), so they still count in the accuracy.

    plan = train_batches(split.lengths, batch_size=64, seed=1234, epoch=1)
    for text, labels in BatchLoader(split, plan.batches):   # text = [L, B], labels = [B]
        ...
    for text, labels, lengths in BatchLoader(split, eval_batches(split.lengths, 64)):
        ...                                                 # lengths = [B], text padded
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from imdb_rnn.data.dataset import EncodedSplit
from imdb_rnn.data.vocab import PAD_ID

# The most padded tokens one evaluation batch may hold: 64 reviews of 4,096 tokens (measured:
# 1.5 GB peak for the 2-level bi-LSTM, 1.7 GB for the 2-level bi-RNN, on the CPU). IMDB's
# longest review has 2,739 tokens, so its batches of 64 stay whole and the published
# numbers unchanged; a review of millions of tokens cannot pad 63 others to its length.
EVAL_TOKEN_BUDGET = 64 * 4096


@dataclass(frozen=True)
class Batch:
    """Reviews read together: ``length`` tokens from the start of each (0 = empty reviews).

    With ``lengths`` (one per member, at least 1) the batch is right-padded to ``length`` and
    each member is read to its own length.
    """

    indices: np.ndarray
    length: int
    lengths: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class TrainPlan:
    """One epoch's training batches and what truncation cost."""

    batches: list[Batch]
    tokens_total: int  # tokens of the reviews trained on
    tokens_kept: int  # tokens the batches actually read
    empty_skipped: int  # reviews left out because they have no tokens

    @property
    def dropped_fraction(self) -> float:
        return 1.0 - self.tokens_kept / self.tokens_total if self.tokens_total else 0.0


def train_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> TrainPlan:
    """The training batches of ``epoch``: equal-length chunks of length-sorted reviews, shuffled."""
    lengths = np.asarray(lengths, dtype=np.int64)
    rng = np.random.default_rng([seed, epoch])
    # lexsort sorts by its last key first: length, then a random tiebreak, so reviews of equal
    # length meet different partners each epoch.
    tiebreak = rng.random(len(lengths))
    order = np.lexsort((tiebreak, lengths))
    order = order[lengths[order] > 0]
    chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    batches = [Batch(indices=chunk, length=int(lengths[chunk].min())) for chunk in chunks]
    batches = [batches[i] for i in rng.permutation(len(batches))]
    return TrainPlan(
        batches=batches,
        tokens_total=int(lengths.sum()),
        tokens_kept=sum(len(b) * b.length for b in batches),
        empty_skipped=int((lengths == 0).sum()),
    )


# torchtext's BucketIterator sorted pools of 100 batches (its `batch_size_fn`-free default).
POOL_BATCHES = 100


def padded_train_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> TrainPlan:
    """The training batches of ``epoch``, tutorial style: shuffled, sorted by length within pools
    of ``POOL_BATCHES`` batches, padded to each batch's longest member, the batches shuffled.

    Every token is read (nothing is cut); empty reviews are skipped as in :func:`train_batches`.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    order = order[lengths[order] > 0]
    pool = POOL_BATCHES * batch_size
    batches = []
    for start in range(0, len(order), pool):
        members = order[start : start + pool]
        members = members[np.argsort(lengths[members], kind="stable")]
        for first in range(0, len(members), batch_size):
            chunk = members[first : first + batch_size]
            batches.append(Batch(indices=chunk, length=int(lengths[chunk].max()), lengths=lengths[chunk]))
    batches = [batches[i] for i in rng.permutation(len(batches))]
    kept = int(lengths[order].sum())
    return TrainPlan(batches=batches, tokens_total=int(lengths.sum()), tokens_kept=kept, empty_skipped=int((lengths == 0).sum()))


def plan_train_batches(batching: str, lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> TrainPlan:
    """The training batches of ``epoch`` for ``train.batching`` (``bucketed`` or ``padded``)."""
    if batching == "padded":
        return padded_train_batches(lengths, batch_size, seed, epoch)
    return train_batches(lengths, batch_size, seed, epoch)


def eval_batches(lengths: np.ndarray, batch_size: int, max_tokens: int = EVAL_TOKEN_BUDGET) -> list[Batch]:
    """Every review exactly once, sorted by length into padded batches: shortest first.

    A batch holds ``batch_size`` reviews, or fewer where its padded size (members × longest
    member) would exceed ``max_tokens``; a review longer than ``max_tokens`` is read alone.
    An empty review is read as one ``<pad>`` token (length 1).
    """
    lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 1)
    order = np.argsort(lengths, kind="stable")
    ranks = np.arange(1, batch_size + 1)
    batches = []
    start = 0
    while start < len(order):
        chunk = order[start : start + batch_size]
        # Sorted ascending, so the k-th member is the longest of the first k: the padded size
        # k × lengths[k-th] grows with k and the members that fit are a prefix of the chunk.
        fits = int((ranks[: len(chunk)] * lengths[chunk] <= max_tokens).sum())
        chunk = chunk[: max(fits, 1)]
        batches.append(Batch(indices=chunk, length=int(lengths[chunk].max()), lengths=lengths[chunk]))
        start += len(chunk)
    return batches


def batch_tensors(split: EncodedSplit, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """``text`` = [length, batch] token ids (int64), right-padded with ``<pad>`` when the batch has
    ``lengths``, and ``labels`` = [batch] floats 0/1."""
    text = np.full((max(batch.length, 1), len(batch)), PAD_ID, dtype=np.int64)
    if batch.length > 0:
        own = np.full(len(batch), batch.length) if batch.lengths is None else np.minimum(batch.lengths, split.lengths[batch.indices])
        steps = np.arange(batch.length)[:, None]
        inside = steps < own[None, :]
        positions = split.offsets[batch.indices][None, :] + steps
        text[inside] = split.tokens[positions[inside]]
    labels = split.labels[batch.indices].astype(np.float32)
    return torch.from_numpy(text), torch.from_numpy(labels)


class BatchLoader:
    """Iterate the tensors of ``batches`` on ``device``, built one at a time: ``(text, labels)``,
    and ``(text, labels, lengths)`` for a padded batch (one with ``lengths``).

    ``read_padding``: yield a padded batch as ``(text, labels)`` too, so the model reads it
    through its padding (``train.batching: padded``).
    """

    def __init__(self, split: EncodedSplit, batches: list[Batch], device: str | torch.device = "cpu", read_padding: bool = False):
        self.split = split
        self.batches = batches
        self.device = torch.device(device)
        self.read_padding = read_padding

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for batch in self.batches:
            text, labels = batch_tensors(self.split, batch)
            if batch.lengths is None or self.read_padding:
                yield text.to(self.device), labels.to(self.device)
            else:
                yield text.to(self.device), labels.to(self.device), torch.from_numpy(batch.lengths).to(self.device)
