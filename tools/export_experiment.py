"""Copy a finished run of the pipeline into results/experiments/<name>/, beside the baseline.

    python tools/export_experiment.py --name clip-1 --workspace ../clip-run --question "Does clipping at 1 help?"
    python tools/export_experiment.py --name clip-5-seed1234 --selection-for clip-1 --workspace ../clip-5

Takes the workspace's params.yaml, results/summary.json, results/accuracy.json,
results/data/stats.json and every run's metrics.json, history.csv and predictions.csv.gz, and
records in experiment.yaml the question and the baseline params it is compared with (--baseline,
by default report/params.yaml: the params of the published report). Refuses runs whose metrics
disagree with the workspace's params, and links that leave the workspace (imdb_rnn.stats.export).
The report's appendix then sets the experiment beside the baseline. With --selection-for, the
run is a candidate the experiment's value was chosen from (one seed, say), kept in
<experiment>/selection/<name>/ and named in the appendix. An existing folder is never overwritten.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.stats.experiments import SELECTION
from imdb_rnn.stats.export import export_experiment

NAME_HELP = "the experiment's name: ASCII letters, digits, '-', '_' and '.', e.g. clip-1 (its folder under --out)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help=NAME_HELP)
    parser.add_argument("--workspace", default=".", help="the project folder whose finished run to copy (default: .)")
    parser.add_argument("--out", default="results/experiments", help="where experiments live (default: results/experiments)")
    parser.add_argument("--baseline", default="report/params.yaml", help="the params the experiment is compared with (default: report/params.yaml)")
    parser.add_argument("--question", default="", help="one line: what the experiment asks (the report prints it)")
    parser.add_argument(
        "--selection-for",
        metavar="EXPERIMENT",
        help="export the run as a candidate that EXPERIMENT's value was chosen from (EXPERIMENT exported first)",
    )
    args = parser.parse_args(argv)
    for option, name in (("--name", args.name), ("--selection-for", args.selection_for)):
        if name is not None and not _plain(name):
            raise UserError(f"{option} {name!r}: use ASCII letters, digits, '-', '_' and '.', not starting with '.'")
    out = Path(args.out) / args.name
    if args.selection_for is not None:
        parent = Path(args.out) / args.selection_for
        if not (parent / "summary.json").is_file():
            raise UserError(f"--selection-for {args.selection_for}: no experiment at {parent}; export it first (without --selection-for)")
        out = parent / SELECTION / args.name
    written = export_experiment(args.workspace, out, baseline=args.baseline, question=args.question)
    print(f"export_experiment: wrote {len(written)} files under {out}")


def _plain(name: str) -> bool:
    return bool(name) and all((c.isascii() and c.isalnum()) or c in "-_." for c in name) and not name.startswith(".")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
