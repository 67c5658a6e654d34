"""Stage ``summarize``: aggregate the training runs into the contract files of docs/pipeline.md.

    python workflow/scripts/summarize.py --params params.yaml --runs results/runs --out results

Reads ``train.archs`` and ``train.all_seeds`` (``train.seed`` first: the primary seed) from
params.yaml and ``<runs>/<arch>/seed<k>/{metrics.json,history.csv,model.txt}`` for each; writes
``<out>/summary.json`` and, from the primary seed, ``<out>/metrics/<arch>.json``,
``<out>/history/<arch>.csv`` and ``<out>/models/<arch>.txt``. See ``imdb_rnn.stats.summarize``.
"""

from __future__ import annotations

import argparse

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

from imdb_rnn.config import load_params
from imdb_rnn.errors import run_cli
from imdb_rnn.stats.summarize import summarize


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the pipeline's params.yaml (default: params.yaml)")
    parser.add_argument("--runs", required=True, help="folder of the training runs, <runs>/<arch>/seed<k>/ (e.g. results/runs)")
    parser.add_argument("--out", required=True, help="folder for summary.json, metrics/, history/, models/ (e.g. results)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    summary = summarize(params.train.archs, params.train.all_seeds, args.runs, args.out)
    for arch, entry in summary.items():
        print(f"summarize: {arch}: test accuracy {100 * entry['test_acc_mean']:.2f} ± {100 * entry['test_acc_std']:.2f} % over n = {entry['n']}")
    print(f"summarize: wrote {args.out}/summary.json and metrics/, history/, models/ for {len(summary)} architectures")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
