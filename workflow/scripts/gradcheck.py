"""Stage ``gradcheck``: derive the Part 2 triplet-loss gradients and verify them (Q2–Q6).

    python workflow/scripts/gradcheck.py --params params.yaml --problem src/imdb_rnn/triplet/problem.yaml \
        --out results/triplet/verification.json

Derives every gradient with sympy, checks it against torch autograd, central finite
differences and ``torch.autograd.gradcheck`` (float64, scalar and vector embeddings), and
judges each of the original report's published answers, and writes every form the report
prints (LaTeX included), so the report parses nothing back. The JSON's keys are described in
the docstring of ``imdb_rnn.triplet.schema``; its schema is the TypedDict
``imdb_rnn.triplet.schema.VerificationDoc``, which tests/test_triplet.py checks a document against.

Exit status: 0 when every numeric check passes, even if a published answer disagrees with
the derivation (that is a finding the report shows; each one is printed as a warning);
1 when a numeric check fails (a bug in the derivation; the JSON is still written so the
failure can be read); 2 for a bad problem file or an unwritable output.
"""

from __future__ import annotations

import argparse
import sys

from imdb_rnn.numerics import pin_from_argv

pin_from_argv()  # before numpy and torch load: they choose their CPU kernels then (numerics.cpu)

from imdb_rnn.errors import run_cli
from imdb_rnn.fileio import write_json
from imdb_rnn.triplet.document import failed_checks, verify, warning_lines
from imdb_rnn.triplet.numeric import POINTS, SEED
from imdb_rnn.triplet.problem import DEFAULT_PROBLEM, load_problem


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="read for numerics.cpu, the CPU kernels (default: params.yaml)")
    parser.add_argument("--problem", default=str(DEFAULT_PROBLEM), help="the problem and published answers (YAML)")
    parser.add_argument("--out", required=True, help="where the verification JSON goes")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the random check points")
    parser.add_argument("--points", type=_positive, default=POINTS, help="random points per check and embedding shape")
    args = parser.parse_args(argv)

    result = verify(load_problem(args.problem), seed=args.seed, points=args.points)
    write_json(args.out, result)

    for line in warning_lines(result):
        print(line, file=sys.stderr)
    summary = result["summary"]
    print(
        f"gradcheck: {summary['numeric_checks_passed']}/{summary['numeric_checks']} numeric checks passed, "
        f"{summary['published_agreeing']}/{summary['published_checked']} published answers agree "
        f"with the derivation -> {args.out}"
    )
    failures = failed_checks(result)
    if failures:
        for line in failures:
            print(f"error: numeric check failed: {line}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
