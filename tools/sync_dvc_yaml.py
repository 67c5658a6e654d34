"""Rewrite the parts of dvc.yaml that other files decide: code dependencies and the plots' files.

    python tools/sync_dvc_yaml.py            # rewrite dvc.yaml in place
    python tools/sync_dvc_yaml.py --check    # exit 1 when dvc.yaml is out of date

DVC cannot run Python, so dvc.yaml spells out (1) each stage's code dependencies, which the
stage programs' imports decide (imdb_rnn.pipeline.codedeps; the Snakefile computes the same lists when
it loads, and tests/test_dag.py checks that both tools agree), and (2) the per-architecture
history files of the top-level ``plots``, which params.yaml's ``train.archs`` decides. This
program writes both and leaves every other line as it is.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from imdb_rnn.config import load_params
from imdb_rnn.pipeline.codedeps import code_deps

STAGE = re.compile(r"^  ([a-z_]+):$")
CODE_LINE = re.compile(r"^(\s+)- (src/imdb_rnn/|workflow/scripts/)")


PLOTS = (("loss", "train_loss, valid_loss"), ("accuracy", "train_acc, valid_acc"))


def plots_section(archs: list[str]) -> str:
    """The top-level ``plots``: per architecture, train and validation loss on one chart, accuracy on another."""
    lines = ["plots:"]
    for name, columns in PLOTS:
        lines += [f"  - {name}:", "      template: linear", "      x: epoch", "      y:"]
        lines += [f"        results/history/{arch}.csv: [{columns}]" for arch in archs]
    return "\n".join(lines) + "\n"


def rewrite(text: str, root: Path = Path(".")) -> str:
    """``text`` (a dvc.yaml) with its code dependencies and plots recomputed."""
    head, plots, _ = text.partition("\nplots:\n")
    if plots:
        text = head + "\n" + plots_section(load_params(root / "params.yaml").train.archs)
    return _rewrite_code(text, root)


def _rewrite_code(text: str, root: Path) -> str:
    """``text`` with every stage's block of code dependencies recomputed."""
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
            print(f"{path}: out of date; run python tools/sync_dvc_yaml.py", file=sys.stderr)
            return 1
        return 0
    if wanted != text:
        path.write_text(wanted, encoding="utf-8")
        print(f"{path}: rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
