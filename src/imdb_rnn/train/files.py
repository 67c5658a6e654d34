"""What one training run reads and where it writes: the prepared splits, the embedding, the output paths.

    from imdb_rnn.train.files import TrainData, OutputPaths, load_embedding
    data = TrainData.load("data/prepared")      # train/valid/test.npz and tokenizer.json
    vectors = load_embedding("data/embeddings/embedding.npy")

Each loader refuses unusable input with one line that names the stage to rerun.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imdb_rnn.data.dataset import EncodedSplit, load_split
from imdb_rnn.data.vocab import load_tokenizer, vocab_fingerprint
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import write_bytes, write_text
from imdb_rnn.records import HISTORY_COLUMNS


@dataclass(frozen=True)
class TrainData:
    """The prepared splits and the vocabulary they were encoded with."""

    train: EncodedSplit
    valid: EncodedSplit
    test: EncodedSplit
    vocab_size: int
    vocab_fingerprint: str

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> TrainData:
        """The prepare stage's ``train/valid/test.npz`` and ``tokenizer.json`` in ``folder``."""
        folder = Path(folder)
        tokenizer = load_tokenizer(folder / "tokenizer.json")
        return cls(
            train=load_split(folder / "train.npz"),
            valid=load_split(folder / "valid.npz"),
            test=load_split(folder / "test.npz"),
            vocab_size=tokenizer.get_vocab_size(),
            vocab_fingerprint=vocab_fingerprint(tokenizer.get_vocab()),
        )

    def check_ids(self) -> None:
        """Refuse splits that hold token ids outside the vocabulary (data and tokenizer disagree)."""
        for name, split in (("train", self.train), ("valid", self.valid), ("test", self.test)):
            if len(split.tokens) and int(split.tokens.max()) >= self.vocab_size:
                raise UserError(
                    f"the {name} split holds token id {int(split.tokens.max())} but the tokenizer has "
                    f"{self.vocab_size} ids; the prepared data is out of date, rerun the prepare stage"
                )
            if len(split) == 0:
                raise UserError(f"the {name} split is empty; check data.limit in params.yaml and rerun prepare")


@dataclass(frozen=True)
class OutputPaths:
    """Where one run writes (docs/pipeline.md, output contract), and its resume state."""

    checkpoint: Path
    resume: Path
    metrics: Path
    history: Path
    structure: Path
    predictions: Path | None = None
    """The test predictions (imdb_rnn.records); None = not written."""


def load_embedding(path: str | os.PathLike[str]) -> np.ndarray:
    """A float32 [vocab, dim] matrix from a ``.npy`` file, with a clear error when unusable."""
    path = Path(path)
    try:
        matrix = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"missing {path}; run the embed stage first, or pass --embedding none for random vectors") from None
    except (ValueError, EOFError, OSError) as exc:  # EOFError: an empty file; OSError: a folder
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise UserError(f"{path} is damaged, not a .npy matrix ({detail}); delete it and rerun the embed stage") from None
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.floating):
        raise UserError(f"{path}: expected a float matrix [vocab, dim], got {matrix.dtype} {matrix.shape}; rerun the embed stage")
    if not np.isfinite(matrix).all():
        raise UserError(f"{path}: holds NaN or infinite values; rerun the embed stage")
    return matrix.astype(np.float32, copy=False)


def save_torch(path: Path, obj: Any) -> None:
    """``torch.save`` to ``path``, atomically.

    Serialized in memory first: torch's own writer turns a full disk into a RuntimeError
    ("iostream error") that names neither the cause nor the file; a plain write says ENOSPC.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getvalue())


def write_history(path: Path, history: list[dict[str, Any]]) -> None:
    """The per-epoch history as CSV: the columns of :data:`imdb_rnn.records.HISTORY_COLUMNS`."""
    lines = [",".join(HISTORY_COLUMNS)]
    lines += [",".join(str(row[column]) for column in HISTORY_COLUMNS) for row in history]
    write_text(path, "\n".join(lines) + "\n")
