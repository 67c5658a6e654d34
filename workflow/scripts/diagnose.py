"""Stage `diagnose`: where a trained model's gradient reaches, position by position.

    python workflow/scripts/diagnose.py --params params.yaml --checkpoint models/rnn1/seed1234.pt --arch rnn1 \\
        --data data/prepared/valid.npz --out results/diagnostics/rnn1.json

Measures, on a seeded sample of validation reviews (their first --length tokens), the mean
norm of d loss / d embedding at every position, for the checkpoint and for the same model
with its recurrent and output layers as the training seed initialised them (the trained
embedding kept): see imdb_rnn.train.diagnostics. Runs on the CPU with one thread; seconds per model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

import torch

from imdb_rnn.config import ModelParams
from imdb_rnn.data.dataset import load_split
from imdb_rnn.errors import run_cli
from imdb_rnn.fileio import write_json
from imdb_rnn.train.diagnostics import gradient_flow
from imdb_rnn.train.models import build_model, load_checkpoint
from imdb_rnn.train.threads import configure_cpu


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="read for numerics.cpu, the CPU kernels (default: params.yaml)")
    parser.add_argument("--checkpoint", required=True, help="a train-stage checkpoint (.pt)")
    parser.add_argument("--arch", help="the architecture the checkpoint must be of (a key of `models`); refused if it is another's")
    parser.add_argument("--data", required=True, help="the validation split it was trained beside (valid.npz)")
    parser.add_argument("--out", required=True, help="where to write the profiles (.json)")
    parser.add_argument("--length", type=int, default=200, help="tokens read from each review (default 200)")
    parser.add_argument("--reviews", type=int, default=256, help="reviews measured (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the review sample (default 0)")
    args = parser.parse_args(argv)
    if args.length < 20 or args.reviews < 1:
        parser.error("--length must be at least 20 and --reviews at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_cpu(1)
    trained, checkpoint = load_checkpoint(args.checkpoint, arch=args.arch)
    seed = int(checkpoint["seed"])
    # The draw the train stage made for this seed: the recurrent and output layers start as
    # they did in training; the embedding is the trained one, so only the recurrence differs.
    torch.manual_seed(seed)
    params = ModelParams.model_validate(checkpoint["config"]["model"])
    initial = build_model(params, int(checkpoint["vocab_size"]), embedding=trained.embedding.weight.detach())
    valid = load_split(args.data, vocab_size=int(checkpoint["vocab_size"]))
    result = gradient_flow(trained, initial, valid, length=args.length, reviews=args.reviews, seed=args.seed)
    write_json(Path(args.out), {"arch": checkpoint["arch"], "training_seed": seed, "checkpoint": str(args.checkpoint), **result})
    for name in ("trained", "initial"):
        r = result[name]
        print(
            f"{checkpoint['arch']} {name}: |grad| first {r['first']:.3g}, middle {r['middle']:.3g}, "
            f"last {r['last']:.3g} (last/middle {r['last_over_middle']:.3g})"
        )


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
