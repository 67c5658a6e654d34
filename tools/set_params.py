"""Set keys of params.yaml from the command line, keeping its comments; validated first.

    .venv/bin/python tools/set_params.py data.limit=2000 train.epochs=1 train.lr=3e-4
    .venv/bin/python tools/set_params.py "report.title=Part #1 of 2" "train.seeds=[1234, 1]"
    .venv/bin/python tools/set_params.py --params other.yaml data.url=/path/to/aclImdb_v1.tar.gz data.sha256=<hex>

Text keys take the value as written; other keys read it as YAML, as `dvc exp run -S key=value`
does inside an experiment (see imdb_rnn.params_edit). It prints each key as it now reads.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import sys

from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.params_edit import set_params, value_at


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
    # The report after the write must not fail where the write succeeded: a character the
    # terminal cannot show (PYTHONIOENCODING=ascii) is printed escaped.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    params = set_params(args.params, overrides)
    shown = ", ".join(f"{key}={json.dumps(value_at(params, key), ensure_ascii=False)}" for key in overrides)
    print(f"set_params: {args.params}: {shown}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
