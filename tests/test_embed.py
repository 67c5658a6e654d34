"""The embed stage: word2vec from training + unlabeled text only, GloVe files, random init."""

from __future__ import annotations

import numpy as np
import pytest

from imdb_rnn.config import DataParams, EmbeddingParams
from imdb_rnn.data import embeddings
from imdb_rnn.data.dataset import load_split
from imdb_rnn.data.embeddings import MIN_GLOVE_COVERAGE, embed, word2vec_sentences
from imdb_rnn.data.prepare import prepare
from imdb_rnn.data.vocab import load_tokenizer
from imdb_rnn.errors import UserError


@pytest.fixture
def prepared(tmp_path, tiny_archive):
    archive, _ = tiny_archive
    out = tmp_path / "prepared"
    prepare(DataParams(vocab_size=60), archive, out, tmp_path / "stats.json")
    return out


def _words(prepared):
    vocab = load_tokenizer(prepared / "tokenizer.json").get_vocab()
    return [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1])]


def test_word2vec_is_deterministic_and_specials_are_zero(tmp_path, prepared):
    params = EmbeddingParams(min_count=1, epochs=2)
    stats = embed(params, prepared, tmp_path / "a.npy", tmp_path / "a.json")
    embed(params, prepared, tmp_path / "b.npy", tmp_path / "b.json")
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.dtype == np.float32 and a.shape == (len(_words(prepared)), 100)
    assert np.array_equal(a, b)
    assert not a[:2].any() and a[2:].any()
    assert stats["rows_with_vector"] == a.shape[0] - 2 and stats["coverage"] == 1.0
    other = embed(EmbeddingParams(min_count=1, epochs=2, seed=2), prepared, tmp_path / "c.npy", tmp_path / "c.json")
    assert other["init"] == "word2vec" and not np.array_equal(np.load(tmp_path / "c.npy"), a)


def test_word2vec_reads_only_training_and_unlabeled_reviews(prepared):
    train = load_split(prepared / "train.npz")
    tok = load_tokenizer(prepared / "tokenizer.json")
    sentences = word2vec_sentences(_words(prepared), [train.review(i) for i in range(len(train))], prepared / "unsup.txt", tok)
    nonempty_train = int((train.lengths > 0).sum())
    assert len(sentences) == nonempty_train + 10
    assert all("<unk>" not in s and "<pad>" not in s for s in sentences)


def test_random_init(tmp_path, prepared):
    stats = embed(EmbeddingParams(init="random"), prepared, tmp_path / "r.npy", tmp_path / "r.json")
    matrix = np.load(tmp_path / "r.npy")
    assert stats["rows_with_vector"] == 0 and not matrix[1].any() and matrix[0].any()
    assert 0.5 < matrix[2:].std() < 1.5


def glove_lines(words: list[str], dim: int = 4) -> str:
    return "".join(f"{word} " + " ".join([str(0.25 * (i % 3 + 1))] * dim) + "\n" for i, word in enumerate(words))


def test_glove_file(tmp_path, prepared):
    words = _words(prepared)
    glove = tmp_path / "glove.txt"
    glove.write_text(f"{words[2]} " + " ".join(["0.5"] * 4) + "\nnotinvocab " + " ".join(["9"] * 4) + "\n" + glove_lines(words[3:9]))
    params = EmbeddingParams(init="glove", dim=4, glove_path=str(glove))
    stats = embed(params, prepared, tmp_path / "g.npy", tmp_path / "g.json")
    matrix = np.load(tmp_path / "g.npy")
    assert stats["rows_with_vector"] == 7
    assert np.allclose(matrix[2], 0.5) and np.allclose(matrix[3], 0.25) and not matrix[:2].any()
    with pytest.raises(UserError, match="vector of 4 numbers, embedding.dim is 5"):
        embed(EmbeddingParams(init="glove", dim=5, glove_path=str(glove)), prepared, tmp_path / "x.npy", tmp_path / "x.json")
    with pytest.raises(UserError, match="does not exist"):
        embed(EmbeddingParams(init="glove", dim=4, glove_path=str(tmp_path / "none.txt")), prepared, tmp_path / "x.npy", tmp_path / "x.json")
    assert not (tmp_path / "x.npy").exists()


def test_unlabeled_reviews_with_carriage_returns_stay_one_review_each(prepared):
    (prepared / "unsup.txt").write_text("a great film\rreally\n\x85an awful mess\n", encoding="utf-8")
    tok = load_tokenizer(prepared / "tokenizer.json")
    sentences = word2vec_sentences(_words(prepared), [], prepared / "unsup.txt", tok)
    assert len(sentences) == 2


def glove_params(path) -> EmbeddingParams:
    return EmbeddingParams(init="glove", dim=4, glove_path=str(path))


@pytest.mark.parametrize(
    "content",
    [
        lambda words: b"",
        lambda words: glove_lines(words).replace(" ", "\t").encode(),
        lambda words: glove_lines([f"zz{word}" for word in words]).encode(),
        lambda words: glove_lines(words).encode("utf-16"),  # not UTF-8: every word decodes to something else
    ],
    ids=["empty", "tab-separated", "other-words", "utf-16"],
)
def test_glove_file_that_matches_almost_nothing_is_refused(tmp_path, prepared, content):
    words = _words(prepared)[2:]
    glove = tmp_path / "glove.txt"
    glove.write_bytes(content(words))
    with pytest.raises(UserError) as info:
        embed(glove_params(glove), prepared, tmp_path / "x.npy", tmp_path / "x.json")
    assert str(info.value) == (
        f"{glove} has vectors for only 0 of the vocabulary's {len(words)} words (0.0%, at least 10% needed); a GloVe text file "
        "holds one word per line followed by 4 space-separated numbers (e.g. `the 0.418 0.24968 …`): check embedding.glove_path"
    )
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "x.json").exists()


def test_glove_coverage_floor_is_a_tenth_of_the_vocabulary(tmp_path, prepared):
    words = _words(prepared)[2:]
    enough = int(np.ceil(MIN_GLOVE_COVERAGE * len(words)))
    (tmp_path / "enough.txt").write_text(glove_lines(words[:enough]))
    assert embed(glove_params(tmp_path / "enough.txt"), prepared, tmp_path / "e.npy", tmp_path / "e.json")["rows_with_vector"] == enough
    (tmp_path / "short.txt").write_text(glove_lines(words[: enough - 1]))
    with pytest.raises(UserError, match=rf"has vectors for only {enough - 1} of the vocabulary's {len(words)} words"):
        embed(glove_params(tmp_path / "short.txt"), prepared, tmp_path / "s.npy", tmp_path / "s.json")


def test_glove_path_that_is_a_folder_or_unreadable_is_one_clear_error(tmp_path, prepared, monkeypatch):
    with pytest.raises(UserError, match=rf"^embedding.glove_path: {tmp_path} is a folder; point it at a GloVe text file \(e.g. glove.6B.100d.txt\)$"):
        embed(glove_params(tmp_path), prepared, tmp_path / "x.npy", tmp_path / "x.json")

    def forbidden(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(embeddings, "open", forbidden, raising=False)  # root may read any file: simulate a mode-000 one
    with pytest.raises(UserError, match=rf"^embedding.glove_path: cannot read {tmp_path / 'g.txt'} \(Permission denied\); check its permissions$"):
        embed(glove_params(tmp_path / "g.txt"), prepared, tmp_path / "x.npy", tmp_path / "x.json")
    assert not (tmp_path / "x.npy").exists()
