"""Tokenization and the word-level vocabulary, with Hugging Face ``tokenizers``.

torchtext's conventions, kept: lower-cased word tokens, ``<unk>`` = 0, ``<pad>`` = 1, then
the ``max_size`` most frequent training tokens, most frequent first (ties in alphabetical
order). The result is a standard ``tokenizer.json`` that any ``tokenizers`` user can load.

    tok = build_tokenizer(texts, max_size=25000)   # 25,002 ids on the full training split
    ids = encode(tok, ["A fine film.<br /><br />Really."])
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from imdb_rnn.errors import UserError

UNK, PAD = "<unk>", "<pad>"
UNK_ID, PAD_ID = 0, 1
SPECIALS = [UNK, PAD]

# Words (keeping inner apostrophes: "don't", "world's") or single punctuation marks.
TOKEN_PATTERN = r"\w+(?:'\w+)*|[^\w\s]"
# IMDB reviews mark paragraphs with HTML line breaks, always written exactly so; they are
# layout, not words. A literal replace is twice as fast as a regex in `tokenizers`.
LINE_BREAK = "<br />"


def _empty_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.Replace(LINE_BREAK, " "), normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(TOKEN_PATTERN), behavior="removed", invert=True)
    return tok


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Split texts into normalised word tokens (no vocabulary involved)."""
    tok = _empty_tokenizer()
    normalize, split = tok.normalizer.normalize_str, tok.pre_tokenizer.pre_tokenize_str
    return [[word for word, _ in split(normalize(text))] for text in texts]


def build_tokenizer(texts: Iterable[str], max_size: int) -> Tokenizer:
    """Learn the vocabulary from ``texts``: the ``max_size`` most frequent tokens plus specials."""
    tok = _empty_tokenizer()
    trainer = trainers.WordLevelTrainer(vocab_size=max_size + len(SPECIALS), min_frequency=1, special_tokens=SPECIALS, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def encode(tok: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    return [enc.ids for enc in tok.encode_batch(list(texts), add_special_tokens=False)]


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
    path = Path(path)
    if not path.exists():
        raise UserError(f"missing {path}; run the prepare stage first")
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on malformed files
        raise UserError(f"{path} is not a tokenizer.json ({exc}); delete it and rerun the prepare stage") from None
    vocab = tok.get_vocab()
    if vocab.get(UNK) != UNK_ID or vocab.get(PAD) != PAD_ID:
        raise UserError(f"{path}: expected {UNK}=0 and {PAD}=1; rebuild it with the prepare stage")
    return tok


def vocab_fingerprint(vocab: dict[str, int]) -> str:
    """sha256 of the id→token table: equal fingerprints mean interchangeable token ids."""
    ordered = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    return hashlib.sha256(json.dumps(ordered, ensure_ascii=False).encode("utf-8")).hexdigest()
