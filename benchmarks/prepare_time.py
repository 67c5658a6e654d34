"""Benchmark of the prepare stage on an archive: wall time per step and peak memory.

    .venv/bin/python benchmarks/prepare_time.py [--archive data/aclImdb_v1.tar.gz]

Prints figures; asserts nothing. Runs prepare into a temporary folder (the pipeline's own
outputs are untouched) with the archive's full data unless --limit is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from imdb_rnn.config import DataParams
from imdb_rnn.data.prepare import prepare
from imdb_rnn.errors import UserError, run_cli

# The download stage writes the archive here.
ARCHIVE = Path("data/aclImdb_v1.tar.gz")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, default=ARCHIVE, help=f"the IMDB archive (default: {ARCHIVE})")
    parser.add_argument("--limit", type=int, default=None, help="reviews per split (default: all)")
    args = parser.parse_args(argv)
    if not args.archive.exists():
        raise UserError(f"no archive at {args.archive}; run the download stage first (make report), or pass --archive")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        stats = prepare(DataParams(limit=args.limit), args.archive, Path(tmp) / "prepared", Path(tmp) / "stats.json")
        wall = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB
    labeled = sum(stats["splits"][s]["reviews"] for s in ("train", "valid", "test"))
    print(f"prepare benchmark on {args.archive} ({platform.machine()}, {os.cpu_count()} cores)")
    print(f"  labeled reviews     {labeled:>10,}")
    print(f"  unlabeled reviews   {stats['unsup_reviews']:>10,}")
    print(f"  vocabulary          {stats['vocab']['size']:>10,}")
    print(f"  read archive        {stats['seconds']['read_archive']:>10.2f} s")
    print(f"  total wall          {wall:>10.2f} s")
    print(f"  peak memory (RSS)   {peak_gb:>10.2f} GB")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
