"""Part 2: triplet-loss gradients (Q2–Q6) derived with sympy and verified numerically.

Run (from the repository root)::

    python workflow/scripts/gradcheck.py --problem src/imdb_rnn/triplet_problem.yaml \\
        --out results/triplet/verification.json

Library use::

    from imdb_rnn.triplet import load_problem, verify
    result = verify(load_problem("src/imdb_rnn/triplet_problem.yaml"))

The problem (classes, triplets, margin and the original report's published answers) is data,
in ``triplet_problem.yaml``. For a triplet (anchor f_a, positive f_p, negative f_n)::

    F   = 1/2 ||f_a - f_p||^2 + alpha - 1/2 ||f_a - f_n||^2
    L^T = max(0, F)

The modules, in the order :func:`verify` uses them: ``problem`` (read and validate the
problem file), ``symbolic`` (the sympy derivation, text and LaTeX of linear forms),
``numeric`` (the derived formulas against torch autograd, finite differences and gradcheck),
``published`` (the original's answers judged, and Q4), ``kink`` (max(0, F) at F = 0),
``document`` (the JSON document) and ``schema`` (its keys, as TypedDicts).
"""

from .document import failed_checks, verify, warning_lines
from .kink import kink_point_F, measure_kink, measure_subgradients, one_sided_derivatives
from .numeric import DIMS, MIXED_MIN_F, POINTS, SEED, numeric_checks
from .problem import DEFAULT_PROBLEM, GENERIC, Problem, Published, Triplet, load_problem, parse_formula, parse_problem
from .published import check_published, q4_summary, valid_triplets
from .schema import VerificationDoc
from .symbolic import Derivation, derive, scalar_form, to_latex, to_text

__all__ = [
    # problem
    "DEFAULT_PROBLEM",
    "GENERIC",
    "Problem",
    "Published",
    "Triplet",
    "load_problem",
    "parse_formula",
    "parse_problem",
    # symbolic
    "Derivation",
    "derive",
    "scalar_form",
    "to_latex",
    "to_text",
    # numeric
    "DIMS",
    "MIXED_MIN_F",
    "POINTS",
    "SEED",
    "numeric_checks",
    # published
    "check_published",
    "q4_summary",
    "valid_triplets",
    # kink
    "kink_point_F",
    "measure_kink",
    "measure_subgradients",
    "one_sided_derivatives",
    # document
    "failed_checks",
    "verify",
    "warning_lines",
    # schema
    "VerificationDoc",
]
