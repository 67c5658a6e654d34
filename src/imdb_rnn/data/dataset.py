"""The compact on-disk form of an encoded split, shared by ``prepare`` and ``train``.

A split is one ``.npz`` file holding every review's token ids back to back:

    tokens   int32 [total tokens]   ids of all reviews, concatenated
    offsets  int64 [n + 1]          review i is tokens[offsets[i]:offsets[i + 1]]
    labels   int8  [n]              1 = positive, 0 = negative
    ids      int32 [n]              the review's number from its file name (<id>_<rating>.txt)
    ratings  int8  [n]              the star rating from its file name (1–10)
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imdb_rnn.errors import UserError
from imdb_rnn.fileio import atomic_path


@dataclass(frozen=True)
class EncodedSplit:
    tokens: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    ratings: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def review(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]]

    @classmethod
    def from_lists(cls, token_lists: list[list[int]], labels, ids, ratings) -> EncodedSplit:
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        offsets = np.zeros(len(token_lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = np.fromiter((i for t in token_lists for i in t), dtype=np.int32, count=int(offsets[-1]))
        return cls(
            tokens=tokens,
            offsets=offsets,
            labels=np.asarray(labels, dtype=np.int8),
            ids=np.asarray(ids, dtype=np.int32),
            ratings=np.asarray(ratings, dtype=np.int8),
        )


def save_split(path: str | os.PathLike[str], split: EncodedSplit) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, tokens=split.tokens, offsets=split.offsets, labels=split.labels, ids=split.ids, ratings=split.ratings)


# What each array must be; a file that differs was not written by save_split, or was damaged.
FIELDS = ("tokens", "offsets", "labels", "ids", "ratings")


def _damage(split: EncodedSplit, vocab_size: int | None) -> str | None:
    """What is wrong with a loaded split's arrays, or None: shapes, kinds and ranges that the
    batching and the model index with (a crafted file would end in an IndexError there)."""
    arrays = {name: getattr(split, name) for name in FIELDS}
    for name, array in arrays.items():
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            return f"{name} is {array.dtype} {array.shape}, not a list of integers"
    tokens, offsets, n = split.tokens, split.offsets, len(split.labels)
    if any(len(arrays[name]) != n for name in ("ids", "ratings")) or len(offsets) != n + 1:
        return f"{n} labels, {len(split.ids)} ids, {len(split.ratings)} ratings and {len(offsets)} offsets (expected {n + 1})"
    if offsets[0] != 0 or offsets[-1] != len(tokens) or (np.diff(offsets) < 0).any():
        return f"its offsets do not cut its {len(tokens)} tokens into reviews"
    if ((split.labels != 0) & (split.labels != 1)).any():
        return "a label other than 0 or 1"
    if len(tokens) and (int(tokens.min()) < 0 or (vocab_size is not None and int(tokens.max()) >= vocab_size)):
        return f"token ids from {int(tokens.min())} to {int(tokens.max())}" + (f", past the vocabulary's {vocab_size}" if vocab_size else "")
    return None


def load_split(path: str | os.PathLike[str], vocab_size: int | None = None) -> EncodedSplit:
    """The split ``save_split`` wrote to ``path``, its arrays checked (token ids below
    ``vocab_size`` when given); a missing, damaged or foreign file is a :class:`UserError`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            split = EncodedSplit(**{key: npz[key] for key in FIELDS})
    except FileNotFoundError:
        raise UserError(f"missing {path}; run the prepare stage first (snakemake or dvc repro)") from None
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        # np.load reads a zip's members lazily: a cut file fails here as a zip, a zlib or an EOF error.
        text = " ".join(str(exc).split())
        detail = text.strip("'") if isinstance(exc, KeyError) else f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        raise UserError(f"{path} is damaged ({detail}); delete it and rerun the prepare stage") from None
    problem = _damage(split, vocab_size)
    if problem:
        raise UserError(f"{path} is damaged ({problem}); delete it and rerun the prepare stage")
    return split
