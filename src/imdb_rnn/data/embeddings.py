"""The embedding's starting point: the ``embed`` stage.

    python workflow/scripts/embed.py --params params.yaml --data data/prepared \
        --out data/embeddings/embedding.npy --stats results/embedding/stats.json

Writes one float32 matrix ``[vocabulary size, embedding.dim]`` aligned with the token ids
of ``tokenizer.json``, whatever ``embedding.init`` says:

- ``word2vec``: vectors learned by gensim from the training split plus the unlabeled
  reviews (never validation or test text). The original report's lineage started from
  GloVe vectors, which need the internet; in-domain word2vec is the offline stand-in.
- ``glove``: vectors read from a GloVe-format text file (``embedding.glove_path``); a file
  that gives vectors to fewer than ``MIN_GLOVE_COVERAGE`` of the vocabulary is refused.
- ``random``: N(0, 1), as ``torch.nn.Embedding`` initialises itself.

``<unk>`` and ``<pad>`` rows are zero; words without a vector get a seeded random vector
with the spread of the found ones. gensim is deterministic only with one worker thread;
its initial vectors come from numpy's seeded generator, so the hash seed does not matter.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from imdb_rnn.config import EmbeddingParams
from imdb_rnn.data.dataset import load_split
from imdb_rnn.data.vocab import PAD_ID, UNK_ID, encode, load_tokenizer, vocab_fingerprint
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import atomic_path, write_json

ENCODE_BATCH = 2000
# The least share of the vocabulary (specials aside) a GloVe file must give vectors to. An
# English GloVe file holds most of the words of English reviews; one that holds almost none
# is the wrong file (another language, another format), and training from it would quietly
# be training from random vectors.
MIN_GLOVE_COVERAGE = 0.10


def _glove_format(dim: int) -> str:
    return f"a GloVe text file holds one word per line followed by {dim} space-separated numbers (e.g. `the 0.418 0.24968 …`)"


def word2vec_sentences(words: list[str], train_ids: list[np.ndarray], unsup_path: Path, tokenizer) -> list[list[str]]:
    """The training reviews, then the unlabeled reviews, as lists of words.

    Words outside the vocabulary are left out, as word2vec leaves out rare words anyway;
    their vectors would never be used. The list is built once because gensim reads its
    corpus once per epoch plus once for its own vocabulary.
    """
    # One review per "\n"-ended line; str.splitlines() would also split at the \r and \x85
    # that some reviews contain, turning 50,000 reviews into 51,414.
    text = unsup_path.read_text(encoding="utf-8") if unsup_path.exists() else ""
    unsup_lines = text.split("\n")[:-1] if text else []
    unsup_ids = [ids for start in range(0, len(unsup_lines), ENCODE_BATCH) for ids in encode(tokenizer, unsup_lines[start : start + ENCODE_BATCH])]
    sentences = ([words[i] for i in ids if i > PAD_ID] for ids in [*train_ids, *unsup_ids])
    return [sentence for sentence in sentences if sentence]


def learn_word2vec(words: list[str], sentences: list[list[str]], params: EmbeddingParams) -> dict[str, np.ndarray]:
    from gensim.models import Word2Vec

    model = Word2Vec(
        sentences=sentences,
        vector_size=params.dim,
        window=params.window,
        min_count=params.min_count,
        epochs=params.epochs,
        seed=params.seed,
        workers=1,  # more threads would make the vectors depend on scheduling
    )
    return {word: model.wv[word] for word in words if word in model.wv.key_to_index}


def read_glove(path: str | os.PathLike[str], words: set[str], dim: int) -> dict[str, np.ndarray]:
    """The vectors of ``words`` from a GloVe text file (``word v1 v2 …`` per line)."""
    path = Path(path)
    found: dict[str, np.ndarray] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                word, _, rest = line.rstrip("\n").partition(" ")
                if word not in words:
                    continue
                vector = np.array(rest.split(" "), dtype=np.float32)
                if vector.shape != (dim,):
                    raise UserError(f"{path}:{number}: vector of {vector.size} numbers, embedding.dim is {dim}; use the matching GloVe file")
                found[word] = vector
    except FileNotFoundError:
        raise UserError(f"embedding.glove_path: {path} does not exist; unzip glove.6B.zip and point at glove.6B.100d.txt") from None
    except IsADirectoryError:
        raise UserError(f"embedding.glove_path: {path} is a folder; point it at a GloVe text file (e.g. glove.6B.100d.txt)") from None
    except OSError as exc:
        raise UserError(f"embedding.glove_path: cannot read {path} ({exc.strerror or exc}); check its permissions") from None
    except ValueError as exc:
        raise UserError(f"{path} is not a GloVe text file ({exc}); {_glove_format(dim)}") from None
    return found


def check_glove_coverage(path: str | os.PathLike[str], covered: int, words: int, dim: int) -> None:
    """Refuse a GloVe file that gives vectors to fewer than ``MIN_GLOVE_COVERAGE`` of the ``words``."""
    if covered < MIN_GLOVE_COVERAGE * words:
        raise UserError(
            f"{path} has vectors for only {covered} of the vocabulary's {words} words ({covered / max(words, 1):.1%}, "
            f"at least {MIN_GLOVE_COVERAGE:.0%} needed); {_glove_format(dim)}: check embedding.glove_path"
        )


def assemble(words: list[str], vectors: dict[str, np.ndarray], dim: int, seed: int) -> tuple[np.ndarray, int]:
    """The matrix for ``words`` (index = token id) and how many rows got a learned vector."""
    rng = np.random.default_rng(seed)
    hits = [i for i, w in enumerate(words) if w in vectors and i > PAD_ID]
    scale = float(np.std([vectors[words[i]] for i in hits])) if hits else 1.0
    matrix = rng.normal(0.0, scale, size=(len(words), dim)).astype(np.float32)
    for i in hits:
        matrix[i] = vectors[words[i]]
    matrix[[UNK_ID, PAD_ID]] = 0.0
    return matrix, len(hits)


def embed(params: EmbeddingParams, data: str | os.PathLike[str], out: str | os.PathLike[str], stats_path: str | os.PathLike[str]) -> dict:
    """Run the stage; return the statistics written to ``stats_path``."""
    started = time.perf_counter()
    data = Path(data)
    tokenizer = load_tokenizer(data / "tokenizer.json")
    vocab = tokenizer.get_vocab()
    words = [w for w, _ in sorted(vocab.items(), key=lambda item: item[1])]
    stats: dict = {"init": params.init, "dim": params.dim, "vocab_size": len(words), "vocab_fingerprint": vocab_fingerprint(vocab)}

    if params.init == "random":
        matrix = np.random.default_rng(params.seed).standard_normal((len(words), params.dim)).astype(np.float32)
        matrix[PAD_ID] = 0.0
        covered = 0
    else:
        if params.init == "word2vec":
            train = load_split(data / "train.npz", vocab_size=len(words))
            train_ids = [train.review(i) for i in range(len(train))]
            sentences = word2vec_sentences(words, train_ids, data / "unsup.txt", tokenizer)
            stats["corpus"] = {"train_reviews": len(train_ids), "reviews": len(sentences), "words": sum(map(len, sentences))}
            stats.update(window=params.window, min_count=params.min_count, epochs=params.epochs, seed=params.seed)
            vectors = learn_word2vec(words, sentences, params)
        else:
            vectors = read_glove(params.glove_path, set(words), params.dim)
            stats["glove_path"] = params.glove_path
        matrix, covered = assemble(words, vectors, params.dim, params.seed)
        if params.init == "glove":
            check_glove_coverage(params.glove_path, covered, len(words) - 2, params.dim)
    stats["rows_with_vector"] = covered
    stats["coverage"] = round(covered / max(len(words) - 2, 1), 4)
    stats["seconds"] = round(time.perf_counter() - started, 2)

    with atomic_path(out, suffix=".npy") as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, matrix)
    write_json(stats_path, stats)
    return stats
