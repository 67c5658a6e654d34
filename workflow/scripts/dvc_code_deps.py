"""Rewrite the code dependencies in dvc.yaml from the stage programs' imports (imdb_rnn.stagedeps).

    python workflow/scripts/dvc_code_deps.py            # rewrite dvc.yaml in place
    python workflow/scripts/dvc_code_deps.py --check    # exit 1 when dvc.yaml is out of date

DVC cannot run Python to find what a stage imports, so dvc.yaml lists the files; this program
writes those lists (each stage's ``workflow/scripts/<stage>.py`` and ``src/imdb_rnn/*`` entries)
and leaves every other line as it is. The Snakefile computes the same lists when it loads, and
tests/test_dag.py checks that both tools agree.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from imdb_rnn.stagedeps import code_deps

STAGE = re.compile(r"^  ([a-z_]+):$")
CODE_LINE = re.compile(r"^(\s+)- (src/imdb_rnn/|workflow/scripts/)")


def rewrite(text: str, root: Path = Path(".")) -> str:
    """``text`` (a dvc.yaml) with every stage's block of code dependencies recomputed."""
    lines, out, stage, i = text.split("\n"), [], None, 0
    while i < len(lines):
        if match := STAGE.match(lines[i]):
            stage = match.group(1)
        if (match := CODE_LINE.match(lines[i])) and stage:
            while i < len(lines) and CODE_LINE.match(lines[i]):
                i += 1
            out += [f"{match.group(1)}- {path}" for path in code_deps(f"workflow/scripts/{stage}.py", root)]
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--dvc-yaml", default="dvc.yaml", help="the file to rewrite (default: dvc.yaml)")
    parser.add_argument("--check", action="store_true", help="only report whether the file is up to date")
    args = parser.parse_args(argv)
    path = Path(args.dvc_yaml)
    text = path.read_text(encoding="utf-8")
    wanted = rewrite(text, path.parent)
    if args.check:
        if wanted != text:
            print(f"{path}: code dependencies out of date; run python workflow/scripts/dvc_code_deps.py", file=sys.stderr)
            return 1
        return 0
    if wanted != text:
        path.write_text(wanted, encoding="utf-8")
        print(f"{path}: code dependencies rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
