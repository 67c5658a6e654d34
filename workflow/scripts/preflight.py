"""Stage ``preflight``: refuse a configuration that cannot work before any training job starts.

    python workflow/scripts/preflight.py --params params.yaml --out results/preflight.json

Validates params.yaml (architecture ids included) and checks this machine for what it asks
(a CUDA GPU for train.device: cuda, the GloVe file for embedding.init: glove), and, in the
project's own folder, that params.yaml is the published recipe before anything replaces the
published results (imdb_rnn.pipeline.runs.guard). Every stage that writes a git-tracked
file depends on the output, so a bad configuration stops the pipeline before the tools remove
any earlier result. See imdb_rnn.checks.preflight.
"""

from __future__ import annotations

import argparse

from imdb_rnn.checks.preflight import preflight
from imdb_rnn.config import load_params
from imdb_rnn.errors import run_cli
from imdb_rnn.fileio import write_json
from imdb_rnn.pipeline.runs import guard


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the pipeline's params.yaml")
    parser.add_argument("--out", required=True, help="where to record the checks that passed (.json)")
    args = parser.parse_args(argv)
    checks = preflight(load_params(args.params))
    guard(".")  # in the project's own folder, only the published recipe may replace the published results
    write_json(args.out, checks)
    print(f"preflight: {args.params} is valid for this machine")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
