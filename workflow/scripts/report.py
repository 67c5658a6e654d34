"""Stage ``report``: render report/report.md, report/report.tex, its figures and tables.

    python workflow/scripts/report.py --params params.yaml --summary results/summary.json \
        --metrics results/metrics --history results/history --models results/models \
        --data-stats results/data/stats.json --embedding-stats results/embedding/stats.json \
        --triplet results/triplet/verification.json --diagnostics results/diagnostics \
        --runs results/runs --experiments results/experiments --out report

Reads params.yaml (``train.*``, ``models.*``, ``data.*``, ``report.*``), the summary,
``<metrics>/<arch>.json``, ``<history>/<arch>.csv`` and ``<models>/<arch>.txt`` for each of
``train.archs``, the prepare and embed statistics, the gradcheck verification, the
diagnose stage's gradient profiles and every run's metrics, history and test predictions.
Writes ``<out>/report.md``, ``<out>/report.tex``, ``<out>/params.yaml`` (the params it used),
``<out>/figures/{learning_curves,gradient_flow,accuracy_by_length}.{png,pdf}`` and ``<out>/tables/*.html``.
The PDF is the separate stage ``pdf`` (workflow/scripts/pdf.py). See ``imdb_rnn.report.build``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

from imdb_rnn.errors import run_cli
from imdb_rnn.report.build import write_report
from imdb_rnn.report.inputs import ReportInputs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the pipeline's params.yaml (default: params.yaml)")
    parser.add_argument("--summary", required=True, help="summary.json of the summarize stage")
    parser.add_argument("--metrics", required=True, help="folder of <arch>.json metrics (summarize)")
    parser.add_argument("--history", required=True, help="folder of <arch>.csv histories (summarize)")
    parser.add_argument("--models", required=True, help="folder of <arch>.txt print(model) outputs (summarize)")
    parser.add_argument("--data-stats", required=True, help="stats.json of the prepare stage")
    parser.add_argument("--embedding-stats", required=True, help="stats.json of the embed stage")
    parser.add_argument("--triplet", required=True, help="verification.json of the gradcheck stage")
    parser.add_argument("--diagnostics", required=True, help="folder of <arch>.json gradient profiles (diagnose)")
    parser.add_argument("--runs", required=True, help="folder of every run's <arch>/seed<k>/ files (train)")
    parser.add_argument("--experiments", help="folder of <name>/summary.json runs beside the baseline (e.g. results/experiments); omitted: none")
    parser.add_argument("--out", required=True, help="folder for report.md, report.tex and figures/ (e.g. report)")
    args = parser.parse_args(argv)
    inputs = ReportInputs(
        params=Path(args.params),
        summary=Path(args.summary),
        metrics=Path(args.metrics),
        history=Path(args.history),
        models=Path(args.models),
        data_stats=Path(args.data_stats),
        embedding_stats=Path(args.embedding_stats),
        verification=Path(args.triplet),
        diagnostics=Path(args.diagnostics),
        runs=Path(args.runs),
        experiments=Path(args.experiments) if args.experiments else None,
    )
    written = write_report(inputs, args.out)
    print(f"report: wrote {', '.join(str(path) for path in written.values())}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
