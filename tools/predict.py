"""Score reviews with a trained checkpoint: one line per text, P(positive) then the text.

    python tools/predict.py --checkpoint models/bilstm2/seed1234.pt \\
        --tokenizer data/prepared/tokenizer.json "A gripping, beautifully shot film."
    printf 'Dull.\\nLoved it.\\n' | python tools/predict.py --checkpoint models/rnn1/seed1234.pt
    python tools/predict.py --checkpoint models/rnn1/seed1234.pt --evaluate data/prepared/test.npz

Texts come from the arguments, or one per non-blank line from stdin when none are given.
Bytes on stdin that are not UTF-8 are replaced (U+FFFD), as the prepare stage does, with a
note on stderr.
``--evaluate`` scores an encoded split of the prepare stage instead and prints its loss and
accuracy. Either way the checkpoint must have been trained with the tokenizer's vocabulary
(same fingerprint); with ``--evaluate`` the tokenizer is the split's own folder's.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

import torch
from torch import nn

from imdb_rnn.data.dataset import load_split
from imdb_rnn.data.vocab import PAD_ID, encode, load_tokenizer, vocab_fingerprint
from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.train.batching import BatchLoader, eval_batches
from imdb_rnn.train.models import RecurrentClassifier, load_checkpoint
from imdb_rnn.train.training import evaluate

EVAL_BATCH = 64


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint written by the train stage (models/<arch>/seed<k>.pt)")
    parser.add_argument(
        "--tokenizer", default="data/prepared/tokenizer.json", help="the vocabulary it was trained with (default: data/prepared/tokenizer.json)"
    )
    parser.add_argument("--evaluate", metavar="SPLIT.npz", help="an encoded split (e.g. data/prepared/test.npz): print its loss and accuracy")
    parser.add_argument("texts", nargs="*", help="reviews to score; none = read one per line from stdin")
    return parser.parse_args(argv)


def positive_probabilities(model: RecurrentClassifier, token_ids: Sequence[Sequence[int]]) -> list[float]:
    """P(positive) for each encoded text, read whole (one at a time, so nothing is padded)."""
    probabilities = []
    with torch.no_grad():
        for ids in token_ids:
            # An empty text is read as one <pad> token, as evaluation does (imdb_rnn.train.batching).
            text = torch.tensor(list(ids) or [PAD_ID], dtype=torch.long).unsqueeze(1)
            # text = [sent len, 1]
            probabilities.append(torch.sigmoid(model(text)).item())
    return probabilities


def read_texts(stream: io.BufferedIOBase) -> list[str]:
    """The non-blank lines of ``stream``'s bytes, decoded as UTF-8 with invalid bytes replaced."""
    data = stream.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        print(
            f"note: stdin is not valid UTF-8 (first bad byte at offset {exc.start}); invalid bytes were replaced with U+FFFD, as prepare does",
            file=sys.stderr,
        )
    # A text wrapper splits lines as reading sys.stdin as text would (\n, \r\n and \r).
    lines = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")
    return [line.rstrip("\n") for line in lines if line.strip()]


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
        split = load_split(args.evaluate)
        result = evaluate(model, BatchLoader(split, eval_batches(split.lengths, EVAL_BATCH)), nn.BCEWithLogitsLoss(), desc="evaluate")
        print(f"{args.evaluate}: {result.examples} reviews, loss {result.loss:.4f}, accuracy {result.acc:.2%}")
        return
    texts = args.texts or read_texts(sys.stdin.buffer)
    for text, probability in zip(texts, positive_probabilities(model, encode(tokenizer, texts)), strict=True):
        print(f"{probability:.4f}\t{text}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
