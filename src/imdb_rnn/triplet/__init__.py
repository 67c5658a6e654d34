"""Part 2: triplet-loss gradients (Q2–Q6) derived with sympy and verified numerically.

Run (from the repository root)::

    python workflow/scripts/gradcheck.py --problem src/imdb_rnn/triplet/problem.yaml \\
        --out results/triplet/verification.json

Library use::

    from imdb_rnn.triplet.document import verify
    from imdb_rnn.triplet.problem import load_problem
    result = verify(load_problem("src/imdb_rnn/triplet/problem.yaml"))

The problem (classes, triplets, margin and the original report's published answers) is data,
in ``problem.yaml``. For a triplet (anchor f_a, positive f_p, negative f_n)::

    F   = 1/2 ||f_a - f_p||^2 + alpha - 1/2 ||f_a - f_n||^2
    L^T = max(0, F)

The modules, in the order :func:`verify` uses them: ``problem`` (read and validate the
problem file), ``symbolic`` (the sympy derivation, text and LaTeX of linear forms),
``numeric`` (the derived formulas against torch autograd, finite differences and gradcheck),
``published`` (the original's answers judged, and Q4), ``kink`` (max(0, F) at F = 0),
``document`` (the JSON document) and ``schema`` (its keys, as TypedDicts).
"""
