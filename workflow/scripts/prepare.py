"""Stage ``prepare``: split, tokenize, build the vocabulary, encode.

    python workflow/scripts/prepare.py --params params.yaml --archive data/aclImdb_v1.tar.gz \
        --out data/prepared --stats results/data/stats.json
"""

from __future__ import annotations

import argparse

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

from imdb_rnn.config import load_params
from imdb_rnn.data.prepare import prepare
from imdb_rnn.errors import run_cli


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the pipeline's params.yaml")
    parser.add_argument("--archive", required=True, help="the aclImdb tar.gz written by the download stage")
    parser.add_argument("--out", required=True, help="folder for the encoded splits, tokenizer.json and unsup.txt")
    parser.add_argument("--stats", required=True, help="JSON file for the data statistics")
    args = parser.parse_args(argv)
    stats = prepare(load_params(args.params).data, args.archive, args.out, args.stats)
    sizes = ", ".join(f"{name} {split['reviews']}" for name, split in stats["splits"].items())
    print(f"prepare: {sizes}, unsup {stats['unsup_reviews']}, vocabulary {stats['vocab']['size']} in {stats['seconds']['total']} s")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
