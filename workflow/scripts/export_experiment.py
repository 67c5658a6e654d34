"""Copy a finished run of the pipeline into results/experiments/<name>/, beside the baseline.

    python workflow/scripts/export_experiment.py --name clip-1 --workspace ../clip-run

Takes the workspace's params.yaml, results/summary.json, results/accuracy.json and every run's
metrics.json, history.csv and predictions.csv.gz (see imdb_rnn.experiments). The report's
appendix then sets the experiment beside the baseline (stage report, --experiments).
An existing folder of that name is never overwritten.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.experiments import export_experiment

NAME_HELP = "the experiment's name: ASCII letters, digits, '-', '_' and '.', e.g. clip-1 (its folder under --out)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help=NAME_HELP)
    parser.add_argument("--workspace", default=".", help="the project folder whose finished run to copy (default: .)")
    parser.add_argument("--out", default="results/experiments", help="where experiments live (default: results/experiments)")
    args = parser.parse_args(argv)
    if not args.name or not all((c.isascii() and c.isalnum()) or c in "-_." for c in args.name) or args.name.startswith("."):
        raise UserError(f"--name {args.name!r}: use ASCII letters, digits, '-', '_' and '.', not starting with '.'")
    written = export_experiment(args.workspace, Path(args.out) / args.name)
    print(f"export_experiment: wrote {len(written)} files under {Path(args.out) / args.name}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
