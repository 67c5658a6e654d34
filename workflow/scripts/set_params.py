"""Set keys of params.yaml from the command line, keeping its comments; validated first.

    python workflow/scripts/set_params.py data.limit=2000 train.epochs=1
    python workflow/scripts/set_params.py --params other.yaml data.url=/path/to/aclImdb_v1.tar.gz data.sha256=<hex>

(`dvc exp run -S key=value` does the same inside an experiment.)
"""

from __future__ import annotations

import argparse

from imdb_rnn.config import set_params
from imdb_rnn.errors import UserError, run_cli


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the params file to edit")
    parser.add_argument("assignments", nargs="+", metavar="KEY=VALUE", help="dotted key and YAML value")
    args = parser.parse_args(argv)
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
