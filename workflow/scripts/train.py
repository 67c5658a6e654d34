"""Stage `train`: train one architecture with one seed and write its checkpoint and results.

    python workflow/scripts/train.py --params params.yaml --arch bilstm2 --seed 1234 \\
        --data data/prepared --embedding data/embeddings/embedding.npy \\
        --checkpoint models/bilstm2/seed1234.pt --resume models/resume/bilstm2-seed1234.pt \\
        --metrics results/runs/bilstm2/seed1234/metrics.json --history results/runs/bilstm2/seed1234/history.csv \\
        --structure results/runs/bilstm2/seed1234/model.txt \\
        --predictions results/runs/bilstm2/seed1234/predictions.csv.gz --threads 1 --max-threads auto

Reads `models.<arch>`, `train.*` and `embedding.init` from params.yaml, and from --data the
prepared `train.npz`, `valid.npz`, `test.npz` and `tokenizer.json`. Interrupted? Rerun the
same command: it resumes after the last completed epoch (state kept at --resume).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

from imdb_rnn.config import load_params
from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.train.files import OutputPaths, TrainData, load_embedding
from imdb_rnn.train.threads import available_cores
from imdb_rnn.train.training import run_training

NO_EMBEDDING = "none"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the pipeline's configuration (default: params.yaml)")
    parser.add_argument("--arch", required=True, help="architecture id, a key of `models` in params.yaml (e.g. bilstm2)")
    parser.add_argument("--seed", type=int, help="training seed (default: train.seed)")
    parser.add_argument("--data", default="data/prepared", help="folder with train/valid/test.npz and tokenizer.json (default: data/prepared)")
    parser.add_argument(
        "--embedding", default=NO_EMBEDDING, help="pretrained vectors, float32 .npy [vocab, dim]; 'none' = random initialisation (default)"
    )
    parser.add_argument("--checkpoint", required=True, help="where to write the best-validation checkpoint (.pt)")
    parser.add_argument("--resume", required=True, help="resume state, written after each epoch and deleted at the end (.pt)")
    parser.add_argument("--metrics", required=True, help="where to write the metrics (.json)")
    parser.add_argument("--history", required=True, help="where to write the per-epoch history (.csv)")
    parser.add_argument("--structure", required=True, help="where to write print(model) (.txt)")
    parser.add_argument("--predictions", required=True, help="where to write the test predictions (.csv.gz; see imdb_rnn.records)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads to start with (default 1: parallel jobs share the cores)")
    parser.add_argument(
        "--max-threads",
        default=None,
        help="grow to this many threads while cores sit idle, 'auto' = every core this process may use "
        "(default: --threads); only models whose results do not depend on the thread count grow (the LSTM)",
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    # Resolved here, once, to a plain number: never more than the cores this process may use.
    if args.max_threads is None:
        args.max_threads = args.threads
    elif args.max_threads == "auto":
        args.max_threads = max(args.threads, available_cores())
    elif not args.max_threads.isdigit() or int(args.max_threads) < args.threads:
        parser.error(f"--max-threads must be 'auto' or a whole number no smaller than --threads ({args.threads}), not {args.max_threads!r}")
    else:
        args.max_threads = max(args.threads, min(int(args.max_threads), available_cores()))
    if args.seed is not None and args.seed < 0:
        parser.error("--seed must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = load_params(args.params)
    if args.arch not in params.models:
        raise UserError(f"--arch {args.arch}: not a key of `models` in {args.params}; known: {', '.join(params.models)}")
    data = TrainData.load(args.data)
    # The embed stage writes a matrix for every embedding.init (N(0, 1) rows for random), so
    # the run is labelled with what params.yaml asked that stage for.
    if args.embedding.lower() == NO_EMBEDDING:
        embedding, embedding_init = None, "random"
    else:
        embedding, embedding_init = load_embedding(args.embedding), params.embedding.init
    run_training(
        args.arch,
        params.models[args.arch],
        params.train,
        data,
        OutputPaths(
            checkpoint=Path(args.checkpoint),
            resume=Path(args.resume),
            metrics=Path(args.metrics),
            history=Path(args.history),
            structure=Path(args.structure),
            predictions=Path(args.predictions),
        ),
        seed=params.train.seed if args.seed is None else args.seed,
        threads=args.threads,
        max_threads=args.max_threads,
        embedding=embedding,
        embedding_init=embedding_init,
        numerics=params.numerics.cpu,
    )


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
