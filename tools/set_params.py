"""Set keys of params.yaml from the command line, keeping its comments; validated first.

    python tools/set_params.py data.limit=2000 train.epochs=1
    python tools/set_params.py --params other.yaml data.url=/path/to/aclImdb_v1.tar.gz data.sha256=<hex>

(`dvc exp run -S key=value` does the same inside an experiment.)
"""

from __future__ import annotations

import argparse
import os
import shlex

from imdb_rnn.config import set_params
from imdb_rnn.errors import UserError, run_cli


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the params file to edit")
    parser.add_argument("assignments", nargs="*", metavar="KEY=VALUE", help="dotted key and YAML value")
    parser.add_argument(
        "--words-from-env",
        metavar="NAME",
        help="also read KEY=VALUE words from environment variable NAME, split like a shell line but never run (make params SET=...)",
    )
    args = parser.parse_args(argv)
    if args.words_from_env:
        try:
            args.assignments += shlex.split(os.environ.get(args.words_from_env, ""))
        except ValueError as exc:
            raise UserError(f"{args.words_from_env}: {exc} (an unclosed quote?); quote values like report.title='My report'") from None
    if not args.assignments:
        raise UserError("nothing to set; give KEY=VALUE, e.g. train.epochs=3")
    overrides = {}
    for item in args.assignments:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"{item}: expected KEY=VALUE, e.g. train.epochs=1")
        overrides[key] = value
    set_params(args.params, overrides)
    print(f"set_params: {args.params}: " + ", ".join(args.assignments))


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
