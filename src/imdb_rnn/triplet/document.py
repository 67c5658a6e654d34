"""The verification document: every result :func:`verify` gathers, as one JSON-ready object."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sympy as sp

from imdb_rnn.triplet.kink import KINK_ALPHA, KINK_POINT, kink_point_F, measure_kink, measure_subgradients, one_sided_derivatives
from imdb_rnn.triplet.numeric import DIMS, POINTS, SEED, numeric_checks
from imdb_rnn.triplet.problem import GENERIC, Problem
from imdb_rnn.triplet.published import check_published, q4_summary
from imdb_rnn.triplet.schema import VerificationDoc
from imdb_rnn.triplet.symbolic import Derivation, derive, linear_terms, scalar_form, to_latex, to_text


def verify(
    problem: Problem,
    *,
    seed: int = SEED,
    points: int = POINTS,
    dims: Sequence[int | None] = DIMS,
) -> VerificationDoc:
    """Derive, check numerically and judge the published answers: the JSON document."""
    derivation = derive(problem)
    names = problem.embeddings
    numeric = numeric_checks(problem, derivation, seed=seed, points=points, dims=dims)
    published = check_published(problem, derivation)
    kink = measure_kink()
    one_sided = one_sided_derivatives()
    analytic = {row["side"]: float(sp.sympify(row["limit"])) for row in one_sided}
    return {
        "problem": _problem_doc(problem, derivation),
        "q2": _q2_doc(problem, derivation, kink, one_sided, analytic),
        "q3": {n: {"text": to_text(derivation.q3[n], GENERIC), "latex": to_latex(derivation.q3[n], GENERIC)} for n in GENERIC},
        "q4": q4_summary(problem),
        "q5": {loss: {e: to_text(g, names) for e, g in row.items()} for loss, row in derivation.q5.items()},
        "q5_latex": {loss: {e: to_latex(g, names) for e, g in row.items()} for loss, row in derivation.q5.items()},
        "q6": {e: to_text(g, names) for e, g in derivation.q6.items()},
        "q6_latex": {e: to_latex(g, names) for e, g in derivation.q6.items()},
        "q6_general": {e: {loss: to_text(c, names) for loss, c in row.items()} for e, row in derivation.q6_general.items()},
        "q6_general_latex": {e: general_terms_latex(row, names) for e, row in derivation.q6_general.items()},
        "q6_general_all_active_is_q6": all(sp.expand(sp.Add(*row.values()) - derivation.q6[e]) == 0 for e, row in derivation.q6_general.items()),
        "published": published,
        "kink": {**kink, "agrees_with_analytic": (kink["left_derivative"], kink["right_derivative"]) == (analytic["left"], analytic["right"])},
        "numeric": numeric,
        "summary": _summary_doc(published, numeric),
        "all_numeric_checks_passed": numeric["passed"],
    }


def _problem_doc(problem: Problem, derivation: Derivation) -> dict[str, Any]:
    """The document's ``problem``: classes, margin, source, symbols and triplets, with LaTeX."""
    symbols = [*problem.embeddings, *GENERIC, problem.margin]
    return {
        "classes": [list(group) for group in problem.classes],
        "margin": problem.margin,
        "source": problem.published.source,
        "symbols_latex": {name: sp.latex(sp.Symbol(name)) for name in symbols},
        "triplets": [
            {
                "name": t.name,
                "anchor": t.anchor,
                "positive": t.positive,
                "negative": t.negative,
                "F": str(derivation.triplet_F[t.name]),
                "latex": loss_latex(t.name),
                "activity_latex": activity_latex(t.name),
            }
            for t in problem.triplets
        ],
    }


def _q2_doc(
    problem: Problem,
    derivation: Derivation,
    kink: Mapping[str, Any],
    one_sided: list[dict[str, Any]],
    analytic: Mapping[str, float],
) -> dict[str, Any]:
    """The document's ``q2``: F, its derivative in each regime, and the kink at F = 0."""
    return {
        "F": str(derivation.F),
        "F_latex": sp.latex(derivation.F),
        "F_norm": sp.sstr(derivation.F_norm, order="none"),
        "F_norm_latex": sp.latex(derivation.F_norm, order="none"),
        "F_norm_is_F": sp.simplify(scalar_form(derivation.F_norm) - derivation.F) == 0,
        "dL_dF": str(derivation.dL_dF),
        "sympy_heaviside_at_zero": str(sp.Heaviside(0)),
        "sympy_heaviside_at_zero_latex": sp.latex(sp.Heaviside(0)),
        "one_sided": one_sided,
        "differentiable_at_zero": analytic["left"] == analytic["right"],
        "regimes": [
            {
                "regime": "F < 0",
                "dL_dF": "0",
                "differentiable": True,
                "gradients": {n: to_text(derivation.q3_inactive[n], GENERIC) for n in GENERIC},
                "gradients_latex": {n: to_latex(derivation.q3_inactive[n], GENERIC) for n in GENERIC},
            },
            {
                "regime": "F = 0",
                "differentiable": kink["differentiable"],
                "left_derivative": kink["left_derivative"],
                "right_derivative": kink["right_derivative"],
            },
            {
                "regime": "F > 0",
                "dL_dF": "1",
                "differentiable": True,
                "gradients": {n: to_text(derivation.q3[n], GENERIC) for n in GENERIC},
                "gradients_latex": {n: to_latex(derivation.q3[n], GENERIC) for n in GENERIC},
            },
        ],
        "kink_point": {**KINK_POINT, problem.margin: KINK_ALPHA, "F": kink_point_F()},
        "subgradients": measure_subgradients(),
    }


def _summary_doc(published: Sequence[Mapping[str, Any]], numeric: Mapping[str, Any]) -> dict[str, Any]:
    """The document's ``summary``: how many published answers agree, how many checks passed."""
    disagreements = [{key: entry[key] for key in ("question", "target", "expected", "derived")} for entry in published if not entry["agrees"]]
    all_checks = numeric["checks"] + numeric["gradcheck"]
    return {
        "published_checked": len(published),
        "published_agreeing": sum(entry["agrees"] for entry in published),
        "by_question": _by_question(published),
        "disagreements": disagreements,
        "numeric_checks": len(all_checks),
        "numeric_checks_passed": sum(c["passed"] for c in all_checks),
    }


def _indexed(prefix: str, name: str, fallback: Callable[[str], str]) -> str:
    """``L1`` -> ``<prefix>1`` as LaTeX (``L^{1}``, ``F_{1}``); other names via ``fallback``."""
    match = re.fullmatch(r"[A-Za-z]+(\d+)", name)
    return f"{prefix}{{{match.group(1)}}}" if match else fallback(name)


def loss_latex(name: str) -> str:
    """A triplet loss name as the original writes it: ``L1`` -> ``L^{1}``."""
    return _indexed("L^", name, lambda n: sp.latex(sp.Symbol(n)))


def activity_latex(name: str) -> str:
    """The indicator that triplet ``name`` is active: ``L1`` -> ``\\mathbf{1}[F_{1} > 0]``."""
    f_name = _indexed("F_", name, lambda n: "F_{\\mathrm{" + n + "}}")
    return rf"\mathbf{{1}}[{f_name} > 0]"


def general_terms_latex(coefficients: Mapping[str, sp.Expr], order: Sequence[str]) -> list[dict[str, str]]:
    """One LaTeX term 1[F_i > 0] (gradient) per loss of a general (any activity) gradient."""
    terms = []
    for loss, coefficient in coefficients.items():
        gradient = to_latex(coefficient, order)
        single = len(linear_terms(coefficient, order)) == 1 and not gradient.startswith("-")
        body = gradient if single else rf"\left({gradient}\right)"
        terms.append({"loss": loss, "indicator": activity_latex(loss), "gradient": gradient, "term": f"{activity_latex(loss)} {body}"})
    return terms


def _by_question(published: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Published answers checked and agreeing, per question (Q5.1 … Q5.8 count as Q5)."""
    out: dict[str, dict[str, int]] = {}
    for entry in published:
        tally = out.setdefault(entry["question"].split(".")[0], {"checked": 0, "agreeing": 0})
        tally["checked"] += 1
        tally["agreeing"] += int(entry["agrees"])
    return out


def warning_lines(result: Mapping[str, Any]) -> list[str]:
    """One line per published answer that disagrees with the derivation."""
    return [
        f"warning: published {d['question']} {d['target']} = {d['expected']} disagrees with the derivation: {d['derived']}"
        for d in result["summary"]["disagreements"]
    ]


def failed_checks(result: Mapping[str, Any]) -> list[str]:
    """One line per failed numeric check (each would be a bug in the derivation)."""
    numeric = result["numeric"]
    lines = [
        f"{c['target']} vs {c['method']} (dim {c['dim']}): max error {c['max_abs_error']:.3g} at {c['worst']}"
        for c in numeric["checks"]
        if not c["passed"]
    ]
    lines += [f"{g['target']} gradcheck (dim {g['dim']})" for g in numeric["gradcheck"] if not g["passed"]]
    return lines
