"""Score reviews with a trained checkpoint: one line per text, P(positive) then the text.

    .venv/bin/python tools/predict.py --checkpoint models/bilstm2/seed1234.pt \\
        --tokenizer data/prepared/tokenizer.json "A gripping, beautifully shot film."
    printf 'Dull.\\nLoved it.\\n' | .venv/bin/python tools/predict.py --checkpoint models/rnn1/seed1234.pt
    .venv/bin/python tools/predict.py --checkpoint models/rnn1/seed1234.pt --evaluate data/prepared/test.npz

Texts come from the arguments, or one per non-blank line from stdin when none are given,
scored as they arrive. Bytes on stdin that are not UTF-8 are replaced (U+FFFD), as the
prepare stage does, with a note on stderr. A text is read as the pipeline reads a review: at
most ``MAX_REVIEW_BYTES`` (1 MiB, the most a review in the archive may hold) and, of those,
its first ``MAX_TEXT_TOKENS`` tokens (4,096, the review length the evaluation batches are
sized for; IMDB's longest has 2,739), so no text can take the memory or the hours a
megabyte line would; a note on stderr names each text that was cut.
``--evaluate`` scores an encoded split of the prepare stage instead and prints its loss and
accuracy. Either way the checkpoint must have been trained with the tokenizer's vocabulary
(same fingerprint); with ``--evaluate`` the tokenizer is the split's own folder's.
"""

from __future__ import annotations

import argparse
import codecs
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

try:
    from imdb_rnn.numerics import pin_from_argv
except ModuleNotFoundError as exc:  # `python3 tools/predict.py`: a Python without the project installed
    if exc.name != "imdb_rnn":
        raise
    print(
        "error: this Python does not have the project installed; run `make install` once, then `.venv/bin/python tools/predict.py …`", file=sys.stderr
    )
    raise SystemExit(2) from None

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

import torch
from torch import nn

from imdb_rnn.data.archive import MAX_REVIEW_BYTES
from imdb_rnn.data.dataset import load_split
from imdb_rnn.data.vocab import PAD_ID, encode, load_tokenizer, vocab_fingerprint
from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.train.batching import EVAL_TOKEN_BUDGET, BatchLoader, eval_batches
from imdb_rnn.train.models import RecurrentClassifier, load_checkpoint
from imdb_rnn.train.training import evaluate

EVAL_BATCH = 64
# The most tokens of one text the model reads: the length the evaluation batches are sized for
# (imdb_rnn.train.batching: 64 reviews of 4,096 tokens). No IMDB review is longer (2,739).
MAX_TEXT_TOKENS = EVAL_TOKEN_BUDGET // EVAL_BATCH
SKIP_CHUNK = 1 << 16


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint written by the train stage (models/<arch>/seed<k>.pt)")
    parser.add_argument(
        "--tokenizer", default="data/prepared/tokenizer.json", help="the vocabulary it was trained with (default: data/prepared/tokenizer.json)"
    )
    parser.add_argument("--evaluate", metavar="SPLIT.npz", help="an encoded split (e.g. data/prepared/test.npz): print its loss and accuracy")
    parser.add_argument("texts", nargs="*", help="reviews to score; none = read one per line from stdin")
    return parser.parse_args(argv)


def positive_probability(model: RecurrentClassifier, ids: Sequence[int]) -> float:
    """P(positive) for one encoded text, read whole (alone, so nothing is padded)."""
    # An empty text is read as one <pad> token, as evaluation does (imdb_rnn.train.batching).
    text = torch.tensor(list(ids) or [PAD_ID], dtype=torch.long).unsqueeze(1)
    # text = [sent len, 1]
    with torch.no_grad():
        return torch.sigmoid(model(text)).item()


def _decode(data: bytes, cut: bool) -> tuple[str, int | None]:
    """``data`` as text, invalid bytes replaced, and where the first invalid byte is (None if
    none). A line cut at a byte count may end inside a character: that part is dropped."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=not cut)
        bad = None
    except UnicodeDecodeError as exc:
        bad = exc.start
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data, final=not cut), bad


def read_texts(stream: BinaryIO) -> Iterator[tuple[str, bool]]:
    """Each non-blank line of ``stream``, as it arrives: its text (UTF-8, invalid bytes replaced)
    and whether it was cut at ``MAX_REVIEW_BYTES`` (the rest of such a line is read and dropped).

    Lines end at \\n, \\r\\n or \\r, as reading stdin as text splits them.
    """
    offset, noted = 0, False
    while line := stream.readline(MAX_REVIEW_BYTES + 1):
        start, offset = offset, offset + len(line)
        cut = len(line) > MAX_REVIEW_BYTES and not line.endswith(b"\n")
        if cut:
            line = line[:MAX_REVIEW_BYTES]
            while (rest := stream.readline(SKIP_CHUNK)) and not rest.endswith(b"\n"):
                offset += len(rest)
            offset += len(rest)
        text, bad = _decode(line, cut)
        if bad is not None and not noted:
            noted = True
            print(
                f"note: stdin is not valid UTF-8 (first bad byte at offset {start + bad}); invalid bytes were replaced with U+FFFD, as prepare does",
                file=sys.stderr,
            )
        pieces = text.removesuffix("\n").split("\r")
        yield from ((piece, cut and i == len(pieces) - 1) for i, piece in enumerate(pieces) if piece.strip())


def _cut_note(number: int, bytes_cut: bool, tokens: int) -> str | None:
    """The one-line note for a text read only in part, or None."""
    longer = f"is longer than {MAX_REVIEW_BYTES:,} bytes (the most a review in the archive may hold)" if bytes_cut else f"has {tokens:,} tokens"
    if tokens > MAX_TEXT_TOKENS:
        return f"note: text {number} {longer}; scored on its first {MAX_TEXT_TOKENS:,} tokens (IMDB's longest review has 2,739)"
    return f"note: text {number} {longer}; scored on those bytes" if bytes_cut else None


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    tokenizer_path = Path(args.evaluate).with_name("tokenizer.json") if args.evaluate else Path(args.tokenizer)
    tokenizer = load_tokenizer(tokenizer_path)
    model, checkpoint = load_checkpoint(args.checkpoint)
    if checkpoint.get("vocab_fingerprint") != vocab_fingerprint(tokenizer.get_vocab()):
        raise UserError(
            f"{args.checkpoint} was trained with another vocabulary than {tokenizer_path}; "
            "use the data and tokenizer.json it was trained on, or retrain"
        )
    if args.evaluate:
        split = load_split(args.evaluate, vocab_size=int(checkpoint["vocab_size"]))
        result = evaluate(model, BatchLoader(split, eval_batches(split.lengths, EVAL_BATCH)), nn.BCEWithLogitsLoss(), desc="evaluate")
        print(f"{args.evaluate}: {result.examples} reviews, loss {result.loss:.4f}, accuracy {result.acc:.2%}")
        return
    # An argument cannot pass MAX_REVIEW_BYTES: the kernel caps each at 128 KiB.
    texts = ((text, False) for text in args.texts) if args.texts else read_texts(sys.stdin.buffer)
    for number, (text, bytes_cut) in enumerate(texts, 1):
        ids = encode(tokenizer, [text])[0]
        note = _cut_note(number, bytes_cut, len(ids))
        if note:
            print(note, file=sys.stderr, flush=True)
        print(f"{positive_probability(model, ids[:MAX_TEXT_TOKENS]):.4f}\t{text}", flush=True)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
