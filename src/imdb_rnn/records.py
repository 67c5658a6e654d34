"""The files one training run leaves in ``results/runs/<arch>/seed<k>/``, defined once.

    from imdb_rnn.records import HISTORY_COLUMNS, run_dir, write_predictions, read_predictions
    write_predictions(run_dir("results/runs", "rnn1", 1234) / PREDICTIONS, split, p_positive)
    read_predictions(path)   # Predictions(review, label, pred, p_positive)

The train stage writes them, summarize copies and aggregates them, the report reads them
(docs/pipeline.md, output contract). ``predictions.csv.gz`` holds one row per test review in the test split's
order: ``review`` (the archive's file name without ``.txt``, e.g. ``test/pos/0_10``: unique,
unlike the number alone), ``label`` (1 = positive), ``tokens`` (the review's length in tokens,
all of which the model read), ``pred`` (the model's label, logit > 0) and ``p_positive``
(sigmoid of the logit, 9 significant digits). It is compressed without a
timestamp, so the same predictions give the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imdb_rnn.errors import UserError
from imdb_rnn.fileio import write_bytes

METRICS = "metrics.json"
HISTORY = "history.csv"
STRUCTURE = "model.txt"
PREDICTIONS = "predictions.csv.gz"
# The contract's six columns (docs/pipeline.md, output contract), then the gradient norms of the training loop:
# the L2 norm of all gradients, and of the recurrent layer's alone, per batch, before the
# optimizer step and any clipping (mean and max over the epoch).
CONTRACT_HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "valid_loss", "valid_acc", "seconds")
GRAD_NORM_COLUMNS = ("grad_norm_mean", "grad_norm_max", "rnn_grad_norm_mean", "rnn_grad_norm_max")
HISTORY_COLUMNS = CONTRACT_HISTORY_COLUMNS + GRAD_NORM_COLUMNS
PREDICTION_COLUMNS = ("review", "label", "tokens", "pred", "p_positive")


def run_dir(runs: str | os.PathLike[str], arch: str, seed: int) -> Path:
    """The folder one training run writes: ``<runs>/<arch>/seed<k>``."""
    return Path(runs) / arch / f"seed{seed}"


def review_names(ids: np.ndarray, labels: np.ndarray, ratings: np.ndarray, split: str = "test") -> list[str]:
    """Each review's file name in the archive without ``.txt``: ``<split>/<pos|neg>/<id>_<rating>``."""
    return [f"{split}/{'pos' if label else 'neg'}/{int(i)}_{int(r)}" for i, label, r in zip(ids, labels, ratings, strict=True)]


@dataclass(frozen=True)
class Predictions:
    """One run's test predictions, in the test split's order."""

    review: list[str]
    label: np.ndarray  # int8, 1 = positive
    tokens: np.ndarray  # int64, the review's length in tokens
    pred: np.ndarray  # int8, the model's label
    p_positive: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.label)

    @property
    def correct(self) -> np.ndarray:
        return self.pred == self.label

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean()) if len(self) else 0.0


def encode_predictions(review: list[str], label: np.ndarray, tokens: np.ndarray, logits: np.ndarray) -> bytes:
    """The gzip bytes of the predictions file (no timestamp or name in the header)."""
    logits = np.asarray(logits, dtype=np.float64)
    p_positive = 1.0 / (1.0 + np.exp(-logits))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(PREDICTION_COLUMNS)
    for name, y, n, z, p in zip(review, label, tokens, logits, p_positive, strict=True):
        writer.writerow((name, int(y), int(n), int(z > 0), f"{p:.9g}"))
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", filename="", mtime=0, compresslevel=9) as handle:
        handle.write(text.getvalue().encode())
    return buffer.getvalue()


def write_predictions(path: str | os.PathLike[str], review: list[str], label: np.ndarray, tokens: np.ndarray, logits: np.ndarray) -> None:
    """Write the predictions file atomically (see the module docstring)."""
    write_bytes(path, encode_predictions(review, label, tokens, logits))


def read_predictions(path: str | os.PathLike[str]) -> Predictions:
    """The predictions at ``path``; one clear error when the file is missing or malformed."""
    path = Path(path)
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise UserError(f"missing {path}; rerun stage `train` for that run") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not a gzip CSV ({exc}); rerun stage `train` for that run") from None
    if not rows or tuple(rows[0]) != PREDICTION_COLUMNS:
        raise UserError(f"{path} does not start with the header {','.join(PREDICTION_COLUMNS)}; rerun stage `train` for that run")
    body = rows[1:]
    try:
        label = np.array([int(r[1]) for r in body], dtype=np.int8)
        tokens = np.array([int(r[2]) for r in body], dtype=np.int64)
        pred = np.array([int(r[3]) for r in body], dtype=np.int8)
        p_positive = np.array([float(r[4]) for r in body], dtype=np.float64)
    except (IndexError, ValueError):
        raise UserError(f"{path} has a malformed row; rerun stage `train` for that run") from None
    return Predictions(review=[r[0] for r in body], label=label, tokens=tokens, pred=pred, p_positive=p_positive)
