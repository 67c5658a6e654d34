"""Split, tokenize, build the vocabulary and encode: the ``prepare`` stage.

    python workflow/scripts/prepare.py --params params.yaml --archive data/aclImdb_v1.tar.gz \
        --out data/prepared --stats results/data/stats.json

Writes ``train.npz``, ``valid.npz``, ``test.npz`` (see :mod:`imdb_rnn.data.dataset`),
``tokenizer.json`` (vocabulary from the training split only), ``unsup.txt`` (the unlabeled
reviews, one per line, kept aside for learning word vectors) and a statistics file.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from imdb_rnn.config import DataParams
from imdb_rnn.data.archive import LABELED, ArchiveContents, Review, read_archive
from imdb_rnn.data.dataset import EncodedSplit, save_split
from imdb_rnn.data.vocab import PAD_ID, UNK_ID, build_tokenizer, encode, vocab_fingerprint
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import write_json, write_text

SPLITS = ("train", "valid", "test")


def content_fingerprint(contents: ArchiveContents) -> str:
    """sha256 over ``"{split}/{label}/{name}\\n"`` + bytes of every labeled review, in sorted order.

    The definition came with the local copy of the archive this project was built with, so a
    local copy and the official archive can be compared by content.
    """
    digest = hashlib.sha256()
    for split, label in LABELED:
        reviews = contents.get(split, label)
        pairs = sorted(zip((r.name for r in reviews), contents.raw[(split, label)], strict=True))
        for name, data in pairs:
            digest.update(f"{split}/{label}/{name}\n".encode())
            digest.update(data)
    return digest.hexdigest()


def _sample(reviews: list[Review], k: int, rng: np.random.Generator) -> list[Review]:
    """``k`` reviews drawn without replacement, returned in id order."""
    picked = np.sort(rng.permutation(len(reviews))[:k])
    return [reviews[i] for i in picked]


def _limited(contents: ArchiveContents, split: str, limit: int | None, seed: int) -> list[Review]:
    """The reviews of one archive split, capped at ``limit`` with the labels in balance."""
    neg, pos = contents.get(split, "neg"), contents.get(split, "pos")
    if limit is None:
        return neg + pos
    total = len(neg) + len(pos)
    if limit > total:
        raise UserError(f"data.limit: {limit} is more than the {total} reviews in {split}/; lower it or use null for all")
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    n_pos = round(limit * len(pos) / total)
    return _sample(neg, limit - n_pos, rng) + _sample(pos, n_pos, rng)


def split_train_valid(reviews: list[Review], valid_fraction: float, seed: int) -> tuple[list[Review], list[Review]]:
    """Stratified, deterministic split: each label is shuffled by ``seed`` and cut at the fraction."""
    rng = np.random.default_rng([seed, 2])
    train, valid = [], []
    for label in ("neg", "pos"):
        group = [r for r in reviews if r.label == label]
        order = rng.permutation(len(group))
        n_valid = round(len(group) * valid_fraction)
        valid += [group[i] for i in sorted(order[:n_valid])]
        train += [group[i] for i in sorted(order[n_valid:])]
    if not train or not valid:
        empty = "validation" if not valid else "training"
        fix = "raise data.valid_fraction" if not valid else "lower data.valid_fraction"
        raise UserError(
            f"data.valid_fraction: {valid_fraction:g} of {len(reviews)} labelled training reviews leaves the {empty} split empty; "
            f"{fix}, or use more reviews (data.limit)"
        )
    return train, valid


def _length_stats(lengths: np.ndarray) -> dict[str, float]:
    if len(lengths) == 0:
        return {"mean": 0.0, "median": 0.0, "max": 0, "min": 0, "total": 0}
    return {
        "mean": round(float(lengths.mean()), 2),
        "median": float(np.median(lengths)),
        "max": int(lengths.max()),
        "min": int(lengths.min()),
        "total": int(lengths.sum()),
    }


def prepare(params: DataParams, archive: str | os.PathLike[str], out: str | os.PathLike[str], stats_path: str | os.PathLike[str]) -> dict:
    """Run the whole stage; return the statistics that were written to ``stats_path``."""
    started = time.perf_counter()
    out = Path(out)
    contents = read_archive(archive)
    read_seconds = time.perf_counter() - started

    labeled_train = _limited(contents, "train", params.limit, params.seed)
    test = _limited(contents, "test", params.limit, params.seed)
    train, valid = split_train_valid(labeled_train, params.valid_fraction, params.seed)
    unsup = contents.get("train", "unsup")
    if params.limit is not None and len(unsup) > params.limit:
        unsup = _sample(unsup, params.limit, np.random.default_rng([params.seed, 3]))

    tokenizer = build_tokenizer((r.text for r in train), max_size=params.vocab_size)
    vocab = tokenizer.get_vocab()
    splits = {"train": train, "valid": valid, "test": test}
    encoded = {
        name: EncodedSplit.from_lists(
            encode(tokenizer, [r.text for r in reviews]),
            labels=[r.label == "pos" for r in reviews],
            ids=[r.id for r in reviews],
            ratings=[r.rating for r in reviews],
        )
        for name, reviews in splits.items()
    }

    # Outputs are written only after everything above succeeded: a failure leaves none.
    out.mkdir(parents=True, exist_ok=True)
    for name, split in encoded.items():
        save_split(out / f"{name}.npz", split)
    # Written as text (the bytes Tokenizer.save writes): tokenizers' own writer turns a full disk
    # into a bare Exception, a plain write into "no space left on …".
    write_text(out / "tokenizer.json", tokenizer.to_str(pretty=True))
    # One review per line: the reviews contain no newlines of their own, but make sure.
    write_text(out / "unsup.txt", "".join(r.text.replace("\n", " ") + "\n" for r in unsup))

    stats = {
        "archive": {
            "reviews": {f"{s}/{lab}": len(v) for (s, lab), v in sorted(contents.reviews.items())},
            "content_fingerprint": content_fingerprint(contents),
            "invalid_utf8_reviews": dict(sorted(contents.invalid_utf8.items())),
        },
        "limit": params.limit,
        "seed": params.seed,
        "splits": {
            name: {
                "reviews": len(split),
                "pos": int(split.labels.sum()),
                "neg": int(len(split) - split.labels.sum()),
                "empty_reviews": int((split.lengths == 0).sum()),
                "tokens": _length_stats(split.lengths),
                "oov_rate": round(float((split.tokens == UNK_ID).mean()) if len(split.tokens) else 0.0, 6),
            }
            for name, split in encoded.items()
        },
        "unsup_reviews": len(unsup),
        "vocab": {
            "size": len(vocab),
            "max_size": params.vocab_size,
            "specials": {"<unk>": UNK_ID, "<pad>": PAD_ID},
            "fingerprint": vocab_fingerprint(vocab),
        },
        "seconds": {"read_archive": round(read_seconds, 2), "total": round(time.perf_counter() - started, 2)},
    }
    write_json(stats_path, stats)
    return stats
