"""Q2, Q3, Q5 and Q6 derived with sympy, and linear forms printed as text and LaTeX.

Every gradient is derived from ``Max(0, F)`` (whose derivative sympy writes as
``Heaviside(F)``) and evaluated in a regime by setting that step to 0 (F < 0) or 1 (F > 0).
Q6 is also derived in general, with the step 1[F_i > 0] of each triplet kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from imdb_rnn.triplet.problem import GENERIC, Problem


@dataclass(frozen=True)
class Derivation:
    """Gradients derived by sympy; expressions in the embedding (or generic) symbols."""

    F: sp.Expr
    F_norm: sp.Expr
    dL_dF: sp.Expr
    q3: Mapping[str, sp.Expr]
    q3_inactive: Mapping[str, sp.Expr]
    triplet_F: Mapping[str, sp.Expr]
    q5: Mapping[str, Mapping[str, sp.Expr]]
    q6: Mapping[str, sp.Expr]
    # dL/df_j for any activity: loss -> coefficient of its indicator 1[F_i > 0] (non-zero ones).
    q6_general: Mapping[str, Mapping[str, sp.Expr]]


def triplet_F(anchor: sp.Expr, positive: sp.Expr, negative: sp.Expr, alpha: sp.Expr) -> sp.Expr:
    """F of one triplet with scalar embeddings; vectors replace squares by squared norms."""
    return sp.Rational(1, 2) * (anchor - positive) ** 2 + alpha - sp.Rational(1, 2) * (anchor - negative) ** 2


class Norm(sp.Function):
    """The Euclidean norm ||x|| of an embedding, as the original writes F; only printed.

    For scalar embeddings ||x||^2 = x^2, which :func:`norm_form_F` is checked against.
    """

    nargs = 1

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        body = rf"\left\| {printer._print(self.args[0])} \right\|"
        return body if exp is None else f"{body}^{{{exp}}}"


def norm_form_F(anchor: sp.Expr, positive: sp.Expr, negative: sp.Expr, alpha: sp.Expr) -> sp.Expr:
    """F as the original writes it, unevaluated: 1/2 ||f_a - f_p||^2 + alpha - 1/2 ||f_a - f_n||^2."""
    half = sp.UnevaluatedExpr(sp.Rational(1, 2))
    near = Norm(sp.Add(anchor, -positive, evaluate=False)) ** 2
    far = Norm(sp.Add(anchor, -negative, evaluate=False)) ** 2
    return sp.Add(sp.Mul(half, near, evaluate=False), alpha, sp.Mul(-1, half, far, evaluate=False), evaluate=False)


def scalar_form(expr: sp.Expr) -> sp.Expr:
    """``expr`` for scalar embeddings: every ||x|| becomes x (only squares of it occur in F)."""
    return sp.expand(expr.doit().replace(Norm, lambda x: x))


def in_regime(expr: sp.Expr, step: int) -> sp.Expr:
    """Evaluate a derivative of Max(0, F) where F < 0 (``step=0``) or F > 0 (``step=1``).

    sympy writes d/dF Max(0, F) as Heaviside(F); in an open regime that step is constant.
    """
    return sp.expand(expr.replace(sp.Heaviside, lambda *_: sp.Integer(step)))


def derive(problem: Problem) -> Derivation:
    """Derive Q3 (one generic triplet), Q5 (each L^i) and Q6 (their sum) with sympy."""
    alpha = sp.Symbol(problem.margin)
    generic = [sp.Symbol(name) for name in GENERIC]
    F = triplet_F(*generic, alpha)
    F_symbol = sp.Symbol("F")
    hinge = sp.Max(0, F)
    q3 = {name: in_regime(sp.diff(hinge, s), 1) for name, s in zip(GENERIC, generic, strict=True)}
    q3_inactive = {name: in_regime(sp.diff(hinge, s), 0) for name, s in zip(GENERIC, generic, strict=True)}

    sym = {name: sp.Symbol(name) for name in problem.embeddings}
    per_triplet = {t.name: triplet_F(*(sym[m] for m in t.members), alpha) for t in problem.triplets}
    q5 = {name: {e: in_regime(sp.diff(sp.Max(0, f), sym[e]), 1) for e in problem.embeddings} for name, f in per_triplet.items()}
    # Q6 is derived from the summed loss itself, not by adding the Q5 answers, so that the
    # two derivations check each other.
    total = sp.Add(*(sp.Max(0, f) for f in per_triplet.values()))
    q6 = {e: in_regime(sp.diff(total, sym[e]), 1) for e in problem.embeddings}
    q6_general = {e: by_indicator(sp.diff(total, sym[e]), per_triplet) for e in problem.embeddings}
    return Derivation(
        F=F,
        F_norm=norm_form_F(*generic, alpha),
        dL_dF=sp.diff(sp.Max(0, F_symbol), F_symbol),
        q3=q3,
        q3_inactive=q3_inactive,
        triplet_F=per_triplet,
        q5=q5,
        q6=q6,
        q6_general=q6_general,
    )


def by_indicator(expr: sp.Expr, per_triplet: Mapping[str, sp.Expr]) -> dict[str, sp.Expr]:
    """Split a derivative of a sum of Max(0, F_i) by the step Heaviside(F_i) = 1[F_i > 0] of
    each triplet: {loss: coefficient} for the non-zero coefficients, in triplet order."""
    indicator = {name: sp.Symbol(f"active_{name}") for name in per_triplet}
    replaced = expr.xreplace({sp.Heaviside(f): indicator[name] for name, f in per_triplet.items()})
    if replaced.has(sp.Heaviside):
        raise ValueError(f"{expr} has a step that is no triplet's 1[F_i > 0]")
    parts = sp.collect(sp.expand(replaced), list(indicator.values()), evaluate=False)
    if sp.expand(parts.get(sp.Integer(1), 0)) != 0:
        raise ValueError(f"{expr} has a term outside every triplet's 1[F_i > 0]")
    coefficients = {name: sp.expand(parts.get(indicator[name], 0)) for name in per_triplet}
    return {name: c for name, c in coefficients.items() if c != 0}


def linear_terms(expr: sp.Expr, order: Sequence[str]) -> list[tuple[sp.Expr, sp.Expr]]:
    """(coefficient, symbol) pairs of a linear form: positive terms first, then negative ones.

    That order reads like the report ("f5 - f2"), where sympy's own order gives "-f2 + f5".
    """
    coefficients = sp.expand(expr).as_coefficients_dict()
    rank = {name: i for i, name in enumerate(order)}
    terms = []
    for term, coefficient in coefficients.items():
        if coefficient == 0:
            continue
        if term != 1 and str(term) not in rank:
            raise ValueError(f"{expr} is not a linear form in {', '.join(order)}")
        terms.append((coefficient, term))
    # Constants go last within their sign group.
    terms.sort(key=lambda ct: (bool(ct[0].is_negative), rank.get(str(ct[1]), len(rank))))
    return terms


def _join(expr: sp.Expr, order: Sequence[str], render: Callable[[sp.Expr, sp.Expr], str]) -> str:
    parts = []
    for coefficient, term in linear_terms(expr, order):
        body = render(abs(coefficient), term)
        if not parts:
            parts.append(f"-{body}" if coefficient < 0 else body)
        else:
            parts.append(f" {'-' if coefficient < 0 else '+'} {body}")
    return "".join(parts) or "0"


def to_text(expr: sp.Expr, order: Sequence[str]) -> str:
    """Plain text of a linear form that sympy parses back, e.g. ``"2*f1 + f4 - 2*f2"``."""

    def render(size: sp.Expr, term: sp.Expr) -> str:
        if term == 1:
            return str(size)
        return str(term) if size == 1 else f"{size}*{term}"

    return _join(expr, order, render)


def to_latex(expr: sp.Expr, order: Sequence[str]) -> str:
    """LaTeX of a linear form in the same term order as :func:`to_text`."""

    def render(size: sp.Expr, term: sp.Expr) -> str:
        if term == 1:
            return sp.latex(size)
        return sp.latex(term) if size == 1 else f"{sp.latex(size)} {sp.latex(term)}"

    return _join(expr, order, render)
