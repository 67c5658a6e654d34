"""The prepare stage on the tiny archive: vocabulary, split, limit, encoding and statistics."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections import Counter

import numpy as np
import pytest

from imdb_rnn.config import DataParams
from imdb_rnn.data import archive as imdb_archive
from imdb_rnn.data.dataset import load_split
from imdb_rnn.data.prepare import prepare
from imdb_rnn.data.vocab import encode, load_tokenizer, tokenize
from imdb_rnn.errors import UserError

from imdb_fixture import make_archive


def run(tmp_path, archive, name="out", **overrides):
    params = DataParams(**{"vocab_size": 60, **overrides})
    out = tmp_path / name
    stats = prepare(params, archive, out, out / "stats.json")
    return out, stats


def test_outputs_specials_and_vocab_size_rule(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    out, stats = run(tmp_path, archive, vocab_size=10)
    assert sorted(p.name for p in out.iterdir()) == ["stats.json", "test.npz", "tokenizer.json", "train.npz", "unsup.txt", "valid.npz"]
    vocab = load_tokenizer(out / "tokenizer.json").get_vocab()
    assert vocab["<unk>"] == 0 and vocab["<pad>"] == 1
    assert len(vocab) == 12 == stats["vocab"]["size"]
    # The 10 most frequent training tokens, most frequent first, ties alphabetical.
    with tarfile.open(archive) as tar:
        texts = {m.name: tar.extractfile(m).read().decode() for m in tar if m.isfile() and "/train/" in m.name and "unsup" not in m.name}
    train = load_split(out / "train.npz")
    train_texts = [t for name, t in texts.items() if int(re.search(r"/(\d+)_", name).group(1)) in set(train.ids.tolist())]
    counts = Counter(tok for words in tokenize(train_texts) for tok in words)
    expected = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]
    assert [w for w, i in sorted(vocab.items(), key=lambda kv: kv[1])][2:] == expected


def test_full_vocabulary_is_smaller_than_the_cap(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    out, stats = run(tmp_path, archive, vocab_size=25000)
    vocab = load_tokenizer(out / "tokenizer.json").get_vocab()
    assert 2 < len(vocab) < 25002
    assert stats["splits"]["train"]["oov_rate"] == 0.0


def test_tokenization_lowercases_and_drops_line_breaks(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    out, _ = run(tmp_path, archive)
    tok = load_tokenizer(out / "tokenizer.json")
    vocab = tok.get_vocab()
    assert "br" not in vocab and "<" not in vocab and "/" not in vocab
    assert {"amélie", "café", "naïve", "great"} <= set(vocab)
    assert "Great" not in vocab
    assert tokenize(["Great<br /><br />FILM, don't!"]) == [["great", "film", ",", "don't", "!"]]
    assert encode(tok, ["GREAT film"]) == encode(tok, ["great<br />film"])


def test_split_is_stratified_and_deterministic(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    out1, stats = run(tmp_path, archive, name="a")
    out2, _ = run(tmp_path, archive, name="b")
    out3, _ = run(tmp_path, archive, name="c", seed=99)
    train, valid = load_split(out1 / "train.npz"), load_split(out1 / "valid.npz")
    assert (len(train), len(valid)) == (28, 12)
    assert int(train.labels.sum()) == 14 and int(valid.labels.sum()) == 6
    assert not set(train.ids.tolist()) & set(valid.ids.tolist())
    for name in ("train", "valid", "test"):
        a, b = load_split(out1 / f"{name}.npz"), load_split(out2 / f"{name}.npz")
        assert np.array_equal(a.ids, b.ids) and np.array_equal(a.tokens, b.tokens)
    assert not np.array_equal(load_split(out3 / "valid.npz").ids, valid.ids)
    assert stats["splits"]["test"] == {**stats["splits"]["test"], "reviews": 40, "pos": 20, "neg": 20}


def test_limit_caps_each_split_in_balance(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    out, stats = run(tmp_path, archive, limit=20)
    assert stats["splits"]["train"]["reviews"] + stats["splits"]["valid"]["reviews"] == 20
    assert stats["splits"]["test"]["reviews"] == 20 and stats["splits"]["test"]["pos"] == 10
    assert stats["unsup_reviews"] == 10
    assert len((out / "unsup.txt").read_text().splitlines()) == 10
    with pytest.raises(UserError, match=r"data.limit: 100 is more than the 40 reviews in train/"):
        run(tmp_path, archive, name="big", limit=100)
    assert not (tmp_path / "big").exists()


def test_empty_review_ids_ratings_and_stats(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    out, stats = run(tmp_path, archive)
    empties = sum(stats["splits"][s]["empty_reviews"] for s in ("train", "valid"))
    assert empties == 1
    split = load_split(out / "train.npz")
    assert set(split.ratings[split.labels == 1].tolist()) <= {7, 8, 9, 10}
    assert set(split.ratings[split.labels == 0].tolist()) <= {1, 2, 3, 4}
    assert json.loads((out / "stats.json").read_text()) == stats
    lengths = split.lengths
    assert stats["splits"]["train"]["tokens"]["max"] == int(lengths.max())
    assert stats["splits"]["train"]["tokens"]["median"] == float(np.median(lengths))


def test_content_fingerprint_follows_the_shared_readme_definition(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    _, stats = run(tmp_path, archive)
    digest = hashlib.sha256()
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            prefix = f"aclImdb/{split}/{label}/"
            for name in sorted(n[len(prefix) :] for n in members if n.startswith(prefix)):
                digest.update(f"{split}/{label}/{name}\n".encode() + members[prefix + name])
    assert stats["archive"]["content_fingerprint"] == digest.hexdigest()


def test_archive_without_unsup_and_with_invalid_utf8(tmp_path):
    archive = tmp_path / "a.tar.gz"
    make_archive(archive, drop=("train/unsup",), invalid_utf8=True)
    out, stats = run(tmp_path, archive)
    assert stats["unsup_reviews"] == 0 and (out / "unsup.txt").read_text() == ""
    assert stats["archive"]["invalid_utf8_reviews"] == {"train/neg": 1}


@pytest.mark.parametrize("folder", ["test/pos", "train/neg"])
def test_missing_class_folder_is_a_clear_error(tmp_path, folder):
    archive = tmp_path / "a.tar.gz"
    make_archive(archive, drop=(folder,))
    with pytest.raises(UserError, match=f"no reviews in aclImdb/{folder}"):
        run(tmp_path, archive)
    assert not (tmp_path / "out").exists()


def test_truncated_archive_is_a_clear_error(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(UserError, match="not a readable tar.gz archive"):
        run(tmp_path, broken)
    assert not (tmp_path / "out").exists()


def _with_review(source, target, name: str, size: int) -> None:
    """``source``'s archive plus one review of ``size`` bytes named ``name``."""
    with tarfile.open(source) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar if m.isfile()]
    with tarfile.open(target, "w:gz") as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data))
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BytesIO(b"dull " * (size // 5) + b"!" * (size % 5)))


def test_an_oversized_review_is_refused_before_it_is_read(tmp_path, tiny_archive, monkeypatch):
    archive, _ = tiny_archive
    # The real cap is 1 MiB; a lower one keeps the archive small, the check is the same.
    monkeypatch.setattr(imdb_archive, "MAX_REVIEW_BYTES", 2_000)
    at_cap, over_cap = tmp_path / "at.tar.gz", tmp_path / "over.tar.gz"
    _with_review(archive, at_cap, "aclImdb/train/pos/9000_9.txt", 2_000)
    _with_review(archive, over_cap, "aclImdb/train/pos/9000_9.txt", 2_001)
    _, stats = run(tmp_path, at_cap, name="at")
    assert stats["archive"]["reviews"]["train/pos"] == 21
    with pytest.raises(UserError) as info:
        run(tmp_path, over_cap)
    assert str(info.value) == (
        f"{over_cap}: aclImdb/train/pos/9000_9.txt holds 2,001 bytes, more than any review may (2,000); "
        "this is not the IMDB archive, or it was tampered with: download it again, or check data.url"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.001, "leaves the validation split empty; raise data.valid_fraction"), (0.999, "leaves the training split empty; lower data.valid_fraction")],
)
def test_a_valid_fraction_that_empties_a_split_names_the_fraction(fraction, expected):
    from imdb_rnn.data.archive import Review
    from imdb_rnn.data.prepare import split_train_valid

    reviews = [Review("train", label, i, 7 if label == "pos" else 2, "text") for i in range(20) for label in ("pos", "neg")]
    with pytest.raises(UserError, match=f"data.valid_fraction: {fraction:g} of 40 labelled training reviews {expected}, or use more reviews"):
        split_train_valid(reviews, fraction, seed=1)
