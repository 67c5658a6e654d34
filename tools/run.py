"""Run the pipeline without ever replacing the published results by accident: ``make try`` and ``make report``.

    python tools/run.py try               # smoke run in runs/try/: 2,000 reviews per split, 1 epoch, 1 seed
    python tools/run.py report --cores 2  # the published recipe here; any other params.yaml in runs/local/

Says first where the run goes and why (imdb_rnn.pipeline.runs), then runs Snakemake there and ends
with the path of the report and the time it took. The exit status is Snakemake's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.pipeline.runs import announce, check_kind, command, plan, prepare_workspace

PROJECT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", help="try (a smoke run) or report (the whole pipeline)")
    parser.add_argument("--cores", default="all", help="cores Snakemake may use (default: all)")
    args = parser.parse_args(argv)
    if args.cores != "all" and not args.cores.isdigit():
        raise UserError(f"--cores {args.cores!r}: give a whole number or all")
    run = plan(check_kind(args.kind), PROJECT)
    print(announce(run), flush=True)
    if not run.in_place:
        prepare_workspace(run, PROJECT, smoke=args.kind == "try")
    # the stage programs are run as `python workflow/scripts/…`: with this interpreter's environment
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    done = subprocess.run(command(args.cores), cwd=run.root, env=env, check=False)
    minutes = (time.monotonic() - started) / 60
    report = run.root / "report" / "report.pdf"
    if done.returncode != 0:
        raise SystemExit(done.returncode)
    print(f"done in {minutes:.1f} min: {report.relative_to(PROJECT)} (and report.md, report.tex beside it)")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
