"""Write README.md's Results block from the published files (no number in it is typed).

    python tools/readme_results.py            # rewrite the block in README.md
    python tools/readme_results.py --check    # exit 1 if README.md's block is stale

Reads report/params.yaml, results/summary.json, results/runs/<arch>/seed<k>/metrics.json,
results/data/stats.json and report/report.md under --root (default: the current folder).
Rewrites only the text between the results markers; everything else in README.md stays as it is.
See ``imdb_rnn.report.readme``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imdb_rnn.errors import run_cli
from imdb_rnn.fileio import write_text
from imdb_rnn.report.readme import replace_block, results_block


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="the project folder holding results/ and report/ (default: .)")
    parser.add_argument("--readme", help="the README to update (default: <root>/README.md)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the block differs from what the files give")
    args = parser.parse_args(argv)
    readme = Path(args.readme) if args.readme else Path(args.root) / "README.md"
    text = readme.read_text(encoding="utf-8")
    updated = replace_block(text, results_block(args.root))
    if args.check:
        if updated != text:
            print(f"readme_results: {readme}'s Results block is stale; run `make readme` and commit it")
            raise SystemExit(1)
        print(f"readme_results: {readme}'s Results block agrees with results/ and report/")
        return
    if updated != text:
        write_text(readme, updated)
    print(f"readme_results: {readme}: Results block {'rewritten' if updated != text else 'already current'}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
