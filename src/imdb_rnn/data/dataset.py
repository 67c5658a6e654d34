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


def load_split(path: str | os.PathLike[str]) -> EncodedSplit:
    path = Path(path)
    try:
        with np.load(path) as npz:
            return EncodedSplit(**{key: npz[key] for key in ("tokens", "offsets", "labels", "ids", "ratings")})
    except FileNotFoundError:
        raise UserError(f"missing {path}; run the prepare stage first (snakemake or dvc repro)") from None
    except (KeyError, ValueError, OSError) as exc:
        raise UserError(f"{path} is not an encoded split ({exc}); delete it and rerun the prepare stage") from None
