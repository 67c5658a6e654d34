"""Stage ``embed``: the embedding's starting point (word2vec, GloVe or random).

    python workflow/scripts/embed.py --params params.yaml --data data/prepared \
        --out data/embeddings/embedding.npy --stats results/embedding/stats.json
"""

from __future__ import annotations

import argparse
import logging

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

from imdb_rnn.config import load_params
from imdb_rnn.data.embeddings import embed
from imdb_rnn.errors import run_cli


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the pipeline's params.yaml")
    parser.add_argument("--data", required=True, help="the prepare stage's folder (tokenizer.json, train.npz, unsup.txt)")
    parser.add_argument("--out", required=True, help="the embedding matrix (.npy)")
    parser.add_argument("--stats", required=True, help="JSON file for coverage and timing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stats = embed(load_params(args.params).embedding, args.data, args.out, args.stats)
    print(
        f"embed: {stats['init']} {stats['vocab_size']}×{stats['dim']}, {stats['rows_with_vector']} rows with a vector "
        f"({stats['coverage']:.1%}) in {stats['seconds']} s"
    )


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
