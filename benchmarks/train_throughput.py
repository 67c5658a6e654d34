"""Training throughput per architecture: the real loop next to its fused-kernel limit and tutorial-style packing.

    python benchmarks/train_throughput.py                       # synthetic IMDB-like lengths
    python benchmarks/train_throughput.py --data data/prepared --threads 2 --batches 20

For each architecture, tokens per second of one training step, measured four ways:

- real: the training loop of the train stage (``imdb_rnn.train.training.train``) on its own
  length-bucketed batches — from ``--data``'s train.npz, else lengths drawn like IMDB's;
- fused: the same model on equal-length random batches of 64 × 256 tokens, the fastest case
  of the recurrent kernel (the limit the real loop can approach);
- packed: tutorial style, a padded batch of mixed lengths read through
  ``pack_padded_sequence`` (the layout that makes CPU training 20–50× slower);
- eval: ``evaluate`` on a random sample of the validation split's evaluation batches
  (length-sorted, padded, each review read to its own length; forward only), and a rough
  time for one whole pass over that split.

Prints figures only; timing never decides a test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

import numpy as np
import torch
from torch import nn

from imdb_rnn.config import Params, load_params
from imdb_rnn.data.dataset import EncodedSplit, load_split
from imdb_rnn.data.vocab import PAD_ID
from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.train.batching import BatchLoader, eval_batches, train_batches
from imdb_rnn.train.models import RecurrentClassifier, build_model
from imdb_rnn.train.threads import configure_cpu
from imdb_rnn.train.training import evaluate, train

REPORT_VOCAB = 25002
# IMDB's training reviews run ~10–2,500 tokens, median ~200, mean ~270 with this tokenizer:
# a log-normal with these parameters draws lengths of the same shape.
SYNTHETIC_TRAIN, SYNTHETIC_VALID = 17500, 7500  # the 70/30 split of IMDB's 25,000 training reviews
SYNTHETIC_LOG_MEDIAN, SYNTHETIC_LOG_SIGMA = np.log(200), 0.7
SYNTHETIC_MIN, SYNTHETIC_MAX = 10, 2500


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="architectures and batch size (default: params.yaml)")
    parser.add_argument("--archs", nargs="+", help="architecture ids (default: train.archs)")
    parser.add_argument("--data", help="prepared data folder (train.npz, valid.npz); default: synthetic IMDB-like lengths")
    parser.add_argument("--batches", type=int, default=5, help="timed batches per measurement (default 5)")
    parser.add_argument(
        "--packed-batches", type=int, default=1, help="timed tutorial-style batches (default 1: one takes up to a minute for bilstm2 on CPU)"
    )
    parser.add_argument("--length", type=int, default=256, help="tokens per review in the fused measurement (default 256)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as the train stage)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled batches and weights (default 0)")
    args = parser.parse_args(argv)
    if min(args.batches, args.packed_batches, args.length, args.threads) < 1:
        parser.error("--batches, --packed-batches, --length and --threads must be at least 1")
    return args


def synthetic_split(n: int, vocab_size: int, rng: np.random.Generator) -> EncodedSplit:
    lengths = np.clip(rng.lognormal(SYNTHETIC_LOG_MEDIAN, SYNTHETIC_LOG_SIGMA, n), SYNTHETIC_MIN, SYNTHETIC_MAX).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return EncodedSplit(
        tokens=rng.integers(2, vocab_size, size=int(offsets[-1]), dtype=np.int32),
        offsets=offsets,
        labels=rng.integers(0, 2, size=len(lengths), dtype=np.int8),
        ids=np.arange(len(lengths), dtype=np.int32),
        ratings=np.zeros(len(lengths), dtype=np.int8),
    )


def timed_steps(model: RecurrentClassifier, optimizer: torch.optim.Optimizer, batches: list[tuple], warmup: tuple) -> float:
    """Tokens per second of training steps on ``batches`` of (text, lengths or None, labels, tokens)."""
    criterion = nn.BCEWithLogitsLoss()
    model.train()
    tokens, seconds = 0, 0.0
    for number, (text, lengths, labels, count) in enumerate([warmup, *batches]):
        start = time.perf_counter()
        optimizer.zero_grad()
        logits = model(text) if lengths is None else model.forward_packed(text, lengths)
        criterion(logits, labels).backward()
        optimizer.step()
        if number:  # the first step pays one-off allocation costs
            tokens, seconds = tokens + count, seconds + time.perf_counter() - start
    return tokens / seconds


def fused_batches(vocab_size: int, batch_size: int, length: int, n: int, rng: np.random.Generator) -> list[tuple]:
    return [
        (
            torch.from_numpy(rng.integers(2, vocab_size, size=(length, batch_size))),
            None,
            torch.from_numpy(rng.integers(0, 2, batch_size).astype(np.float32)),
            length * batch_size,
        )
        for _ in range(n)
    ]


def packed_batches(split: EncodedSplit, batch_size: int, n: int, rng: np.random.Generator) -> list[tuple]:
    """Random reviews, padded to the longest and read packed: the tutorials' batches."""
    batches = []
    for _ in range(n):
        chosen = rng.choice(len(split), size=batch_size, replace=False)
        reviews = [torch.from_numpy(split.review(i).astype(np.int64)) for i in chosen]
        lengths = torch.tensor([len(r) for r in reviews])
        padded = nn.utils.rnn.pad_sequence(reviews, padding_value=PAD_ID)
        batches.append((padded, lengths, torch.from_numpy(split.labels[chosen].astype(np.float32)), int(lengths.sum())))
    return batches


def measure(arch: str, params: Params, split: EncodedSplit, valid: EncodedSplit, vocab_size: int, args: argparse.Namespace) -> dict[str, float]:
    batch_size = params.train.batch_size
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    model = build_model(params.models[arch], vocab_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.train.lr)
    criterion = nn.BCEWithLogitsLoss()

    plan = train_batches(split.lengths, batch_size, args.seed, epoch=1)
    train(model, BatchLoader(split, plan.batches[:1]), optimizer, criterion, desc=f"{arch} warm-up")
    real = train(model, BatchLoader(split, plan.batches[1 : 1 + args.batches]), optimizer, criterion, desc=f"{arch} real")

    fused = timed_steps(
        model,
        optimizer,
        fused_batches(vocab_size, batch_size, args.length, args.batches, rng),
        warmup=fused_batches(vocab_size, batch_size, args.length, 1, rng)[0],
    )
    packed = timed_steps(model, optimizer, packed_batches(split, batch_size, args.packed_batches, rng), warmup=packed_batches(split, 4, 1, rng)[0])

    every = eval_batches(valid.lengths, batch_size)
    sample = [every[i] for i in np.sort(rng.choice(len(every), size=min(args.batches, len(every)), replace=False))]
    checked = evaluate(model, BatchLoader(valid, sample), criterion, desc=f"{arch} eval")
    return {
        "real": real.tokens / real.seconds,
        "fused": fused,
        "packed": packed,
        "eval": checked.tokens / checked.seconds,
        "eval_pass_s": checked.seconds / len(sample) * len(every),
        "dropped": plan.dropped_fraction,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = load_params(args.params)
    archs = args.archs or params.train.archs
    unknown = [a for a in archs if a not in params.models]
    if unknown:
        raise UserError(f"--archs: unknown {', '.join(unknown)}; known: {', '.join(params.models)}")
    configure_cpu(args.threads)
    if args.data:
        split, valid = load_split(Path(args.data) / "train.npz"), load_split(Path(args.data) / "valid.npz")
        vocab_size = int(max(split.tokens.max(), valid.tokens.max())) + 1
        source = f"{args.data} ({len(split):,} training reviews)"
    else:
        rng = np.random.default_rng(args.seed)
        split, valid = synthetic_split(SYNTHETIC_TRAIN, REPORT_VOCAB, rng), synthetic_split(SYNTHETIC_VALID, REPORT_VOCAB, rng)
        vocab_size = REPORT_VOCAB
        source = (
            f"synthetic IMDB-like lengths ({len(split):,} reviews, median {int(np.median(split.lengths))}, mean {split.lengths.mean():.0f} tokens)"
        )

    rows = {arch: measure(arch, params, split, valid, vocab_size, args) for arch in archs}
    print(f"\ntraining throughput, tokens/s — torch {torch.__version__}, {args.threads} thread(s), batch {params.train.batch_size}; data: {source}")
    print(
        f"real: {args.batches} length-bucketed batches; fused: {args.batches} × [{args.length}, {params.train.batch_size}]; "
        f"packed: {args.packed_batches} mixed-length batch(es); eval: {args.batches} batches, s/pass over {len(valid):,} validation reviews"
    )
    header = (
        f"{'arch':<9}{'real':>10}{'fused':>10}{'packed':>10}{'real/fused':>12}{'real/packed':>13}{'eval':>10}{'eval s/pass':>13}{'truncated':>11}"
    )
    print(header)
    print("-" * len(header))
    for arch, r in rows.items():
        print(
            f"{arch:<9}{r['real']:>10,.0f}{r['fused']:>10,.0f}{r['packed']:>10,.0f}{r['real'] / r['fused']:>12.2f}"
            f"{r['real'] / r['packed']:>13.1f}{r['eval']:>10,.0f}{r['eval_pass_s']:>13,.0f}{r['dropped']:>11.2%}"
        )


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
