"""Part 2, in the original report's layout (Q2–Q6): gradcheck's verification.json, set as formulas.

Every formula arrives as LaTeX written by gradcheck (:mod:`imdb_rnn.triplet`); this module only
chooses marks, groups rows and counts agreements. The problem itself was reconstructed: the
original never states the classes or the triplets, so they were read back from its Q5 answers.
Agreement with those answers is therefore a consistency check of the reading, while the numeric
checks (autograd, finite differences, gradcheck) and Q3 and Q6 test the derivation itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from imdb_rnn.report.document import Equation, Table, data
from imdb_rnn.report.fmt import TexRaw, join_and, number_text
from imdb_rnn.report.inputs import ReportData
from imdb_rnn.triplet.problem import GENERIC

TITLE = "Part 2"
LEVEL = 2
RESOURCES = ("part2.j2",)  # its template, read at run time (pipeline.codedeps)


def _partial(loss: str, wrt: str) -> TexRaw:
    """d loss / d wrt as LaTeX; both arrive as LaTeX (from verification.json)."""
    return TexRaw(rf"\frac{{\partial {loss}}}{{\partial {wrt}}}")


def _numeric_ok(numeric: Mapping[str, Any], target: str) -> bool:
    """Every numeric check and gradcheck of ``target`` ("q3", "q5", …) passed."""
    checks = [c["passed"] for c in numeric["checks"] if c["target"] == target]
    checks += [g["passed"] for g in numeric["gradcheck"] if target in g["target"].split("+")]
    return bool(checks) and all(checks)


def _mark(ok: bool) -> TexRaw:
    return TexRaw(r"\checkmark" if ok else r"\times")


def _formula(lhs: TexRaw, rhs: str, verified: bool, published: Mapping[str, Any] | None, always_original: bool = False) -> dict[str, Any]:
    """One derived formula with its verdict and, where it reads differently (or always, with
    ``always_original``), the original's form.

    ``verdict`` is ``\\checkmark`` when the formula passed the numeric checks and, where the
    original gives it, equals the original's answer; ``\\times`` otherwise, with ``note``
    saying why.
    """
    agrees = published is None or published["agrees"]
    shown_differently = published is not None and (always_original or published["latex_expected"] != rhs)
    if not verified:
        note = r"\text{numeric check failed}"
    elif shown_differently or not agrees:
        note = rf"\text{{original: }} {published['latex_expected']}"
    else:
        note = ""
    return {
        "lhs": lhs,
        "rhs": TexRaw(rhs),
        "verdict": _mark(verified and agrees),
        "note": TexRaw(note),
        "verified": verified,
        "agrees": agrees,
    }


def _pattern(pattern: Sequence[int]) -> str:
    return "(" + ", ".join(str(c) for c in pattern) + ")"


def _q2(v: Mapping[str, Any]) -> dict[str, Any]:
    q2, kink, numeric = v["q2"], v["kink"], v["numeric"]
    sym = v["problem"]["symbols_latex"]
    regimes = {r["regime"]: r for r in q2["regimes"]}
    inactive_ok = _numeric_ok(numeric, "q2 F<0")
    inactive = [_formula(_partial("L^T", sym[n]), regimes["F < 0"]["gradients_latex"][n], inactive_ok, None) for n in GENERIC]
    sides = {s["side"]: s for s in q2["one_sided"]}
    point = q2["kink_point"]
    return {
        "F": TexRaw(q2["F_norm_latex"]),
        "F_scalar": TexRaw(q2["F_latex"]),
        "F_scalar_mark": _mark(q2["F_norm_is_F"]),
        "partials": [_partial("L^T", sym[n]) for n in GENERIC],
        "wrt": [TexRaw(sym[n]) for n in GENERIC],
        "inactive": inactive,
        "inactive_mark": _mark(inactive_ok and all(f["rhs"] == "0" for f in inactive)),
        "one_sided": {
            side: {
                "max_at_zero": TexRaw(s["max_at_zero"]),
                "max_value": TexRaw(s["max_value_latex"]),
                "quotient": TexRaw(s["quotient_latex"]),
                "limit": TexRaw(s["limit_latex"]),
            }
            for side, s in sides.items()
        },
        "differentiable": q2["differentiable_at_zero"],
        "relation": TexRaw(r"=" if q2["differentiable_at_zero"] else r"\neq"),
        "left": number_text(kink["left_derivative"]),
        "right": number_text(kink["right_derivative"]),
        "left_quotients": ", ".join(number_text(q) for q in kink["left_quotients"]),
        "right_quotients": ", ".join(number_text(q) for q in kink["right_quotients"]),
        "steps": ", ".join(number_text(s) for s in kink["steps"]),
        "confirmed": kink["agrees_with_analytic"],
        "confirmed_mark": _mark(kink["agrees_with_analytic"]),
        "heaviside": TexRaw(q2["sympy_heaviside_at_zero_latex"]),
        "kink_point": TexRaw(
            r",\ ".join(f"{sym[n]} = {number_text(point[n])}" for n in (*GENERIC, v["problem"]["margin"]))
            + rf"\ \Rightarrow\ F = {number_text(point['F'])}"
        ),
        "subgradients": [
            {
                "call": s["call"],
                "slope": number_text(s["dL_dF_at_zero"]),
                "gradients": "(" + ", ".join(number_text(s["gradients_at_kink_point"][n]) for n in GENERIC) + ")",
            }
            for s in q2["subgradients"]
        ],
    }


def _q4(v: Mapping[str, Any]) -> dict[str, Any]:
    q4 = v["q4"]
    losses = {t["name"]: TexRaw(t["latex"]) for t in v["problem"]["triplets"]}
    return {
        "patterns": [
            {
                "pattern": _pattern(p["pattern"]),
                "valid": p["valid"],
                "mark": _mark(p["valid"]),
                "defects": "; ".join(p["defects"]),
                "triplets": p["triplets"],
            }
            for p in q4["published_patterns"]
        ],
        "valid": join_and([_pattern(p) for p in q4["published_valid_patterns"]]),
        "valid_checked": q4["published_patterns_valid"],
        "checked": q4["published_patterns_checked"],
        "valid_patterns": [{"pattern": _pattern(p["pattern"]), "triplets": p["triplets"]} for p in q4["valid_patterns"]],
        "total_valid": q4["total_valid"],
        "counting": TexRaw(q4["counting"].replace("*", r" \cdot ")),
        "pattern_count": q4["pattern_count"],
        "n_classes": len(v["problem"]["classes"]),
        "published_count": q4["published_count"],
        "published_counts_patterns": q4["published_count"] == q4["pattern_count"],
        "count": q4["used_count"],
        "all_valid": q4["used_all_valid"],
        "distinct": q4["used_distinct"],
        "mark": _mark(q4["used_all_valid"] and q4["used_distinct"]),
        "by_pattern": [
            {"pattern": _pattern(g["pattern"]), "losses": TexRaw(", ".join(losses[name] for name in g["losses"]))} for g in q4["used_by_pattern"]
        ],
    }


def _q5(v: Mapping[str, Any], published: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, Any]:
    """Q5 as one table: a row per triplet loss, a column per embedding, and the original's
    agreement per row; a cell that disagrees is marked and listed with the original's form."""
    sym = v["problem"]["symbols_latex"]
    losses = {t["name"]: TexRaw(t["latex"]) for t in v["problem"]["triplets"]}
    numeric_ok = _numeric_ok(v["numeric"], "q5")
    rows, disagreements = [], []
    for number, (loss, row) in enumerate(v["q5_latex"].items(), start=1):
        cells, agreeing, checked = [], 0, 0
        for e, latex in row.items():
            entry = published.get((f"Q5.{number}", f"d{loss}/d{e}"))
            agrees = entry is None or entry["agrees"]
            checked += entry is not None
            agreeing += entry is not None and entry["agrees"]
            cells.append(TexRaw(latex if agrees else rf"{latex}\ \times"))
            if not agrees:
                disagreements.append({"lhs": _partial(losses[loss], sym[e]), "derived": TexRaw(latex), "original": TexRaw(entry["latex_expected"])})
        rows.append(
            {"loss": losses[loss], "cells": cells, "agreeing": agreeing, "checked": checked, "mark": _mark(numeric_ok and agreeing == checked)}
        )
    embeddings = list(next(iter(v["q5_latex"].values()))) if v["q5_latex"] else []
    tally = v["summary"]["by_question"].get("Q5", {"checked": 0, "agreeing": 0})
    return {
        "header": [TexRaw(sym[e]) for e in embeddings],
        "column_spec": TexRaw("{@{}c|" + "c" * len(embeddings) + "|c@{}}"),
        "rows": rows,
        "agreeing": tally["agreeing"],
        "checked": tally["checked"],
        "numeric_ok": numeric_ok,
        "disagreements": disagreements,
    }


# Terms of a general Q6 gradient per line in the .tex, so the longest fits the page.
TERMS_PER_LINE = 3


def _q6_general(v: Mapping[str, Any]) -> list[dict[str, Any]]:
    sym = v["problem"]["symbols_latex"]
    out = []
    for e, terms in v["q6_general_latex"].items():
        parts = [t["term"] for t in terms]
        lines = [" + ".join(parts[i : i + TERMS_PER_LINE]) for i in range(0, len(parts), TERMS_PER_LINE)] or ["0"]
        out.append({"lhs": _partial("L", sym[e]), "rhs": TexRaw(" + ".join(parts) or "0"), "lines": [TexRaw(line) for line in lines]})
    return out


def part2_context(v: Mapping[str, Any]) -> dict[str, Any]:
    numeric, summary = v["numeric"], v["summary"]
    sym = v["problem"]["symbols_latex"]
    published = {(p["question"], p["target"]): p for p in v["published"]}
    q3_ok = _numeric_ok(numeric, "q3")
    q3 = [_formula(_partial("L^T", sym[n]), v["q3"][n]["latex"], q3_ok, published.get(("Q3", f"dL/d{n}"))) for n in GENERIC]

    triplets = [_triplet_latex(t, sym) for t in v["problem"]["triplets"]]
    half = (len(triplets) + 1) // 2
    classes = [TexRaw(r"\{" + ", ".join(sym[n] for n in group) + r"\}") for group in v["problem"]["classes"]]

    q5 = _q5(v, published)
    q6_ok = _numeric_ok(numeric, "q6")
    q6 = [
        _formula(_partial("L", sym[e]), latex, q6_ok, published.get(("Q6", f"dL/d{e}")), always_original=True) for e, latex in v["q6_latex"].items()
    ]
    q6_general_ok = _numeric_ok(numeric, "q6 general") and v["q6_general_all_active_is_q6"]
    by_question = summary["by_question"]

    return {
        "numeric_passed": summary["numeric_checks_passed"],
        "numeric_total": summary["numeric_checks"],
        "published_agreeing": summary["published_agreeing"],
        "published_checked": summary["published_checked"],
        "disagreements": len(summary["disagreements"]),
        "points": numeric["points"],
        "dims": join_and([str(d) for d in numeric["dims"]]),
        "problem": {
            "classes": classes,
            "n_classes": len(classes),
            "embeddings": TexRaw(", ".join(sym[n] for group in v["problem"]["classes"] for n in group)),
            "n_embeddings": sum(len(group) for group in v["problem"]["classes"]),
            "n_triplets": len(triplets),
            "rows": [TexRaw(" & ".join(triplets[i::half])) for i in range(half)],
            "column_spec": TexRaw("{" + "c" * min(2, len(triplets)) + "}"),
            "agreement": {q: f"{t['agreeing']}/{t['checked']}" for q, t in by_question.items()},
        },
        "q2": _q2(v),
        "q3": q3,
        "q4": _q4(v),
        "q5": q5,
        "q6": q6,
        "q6_general": _q6_general(v),
        "q6_general_mark": _mark(q6_general_ok),
        "q6_agreement": f"{by_question.get('Q6', {}).get('agreeing', 0)}/{by_question.get('Q6', {}).get('checked', 0)}",
        "all_verified": all(f["verified"] and f["agrees"] for f in [*q3, *q6]) and q5["numeric_ok"] and not q5["disagreements"] and q6_general_ok,
    }


def _triplet_latex(t: Mapping[str, str], sym: Mapping[str, str]) -> str:
    members = ", ".join(sym[t[role]] for role in ("anchor", "positive", "negative"))
    return f"{t['latex']} = ({members})"


def _equations(formulas: list[dict[str, Any]]) -> list[Equation]:
    return [Equation(f["lhs"], f["rhs"], f["verdict"], f["note"]) for f in formulas]


def _tables(p: Mapping[str, Any]) -> dict[str, Table]:
    q2, q4, q5 = p["q2"], p["q4"], p["q5"]
    subgradients = Table(
        ["operator", "$\\partial L^T / \\partial F$ at $F = 0$", "$\\partial L^T / \\partial (f_a, f_p, f_n)$ there"],
        [[f"`{data(s['call'])}`", f"${data(s['slope'])}$", f"${data(s['gradients'])}$"] for s in q2["subgradients"]],
        "lcc",
        "The subgradient each operator returns at the kink.",
    )
    patterns = Table(
        ["the original's pattern", "valid", "ordered triplets with it", "why not"],
        [
            [
                data(r["pattern"]),
                f"{'yes' if r['valid'] else 'no'} ${data(r['mark'])}$",
                data(r["triplets"]),
                data(r["defects"]) if r["defects"] else "",
            ]
            for r in q4["patterns"]
        ],
        "lcrX",
        "The original's label patterns (class of anchor, positive, negative), judged.",
    )
    gradients = Table(
        ["", *(f"$\\partial / \\partial {data(h)}$" for h in q5["header"]), "original's, agreeing"],
        [[f"${data(r['loss'])}$", *(f"${data(c)}$" for c in r["cells"]), data(f"{r['agreeing']}/{r['checked']}")] for r in q5["rows"]],
        "l" + "c" * len(q5["header"]) + "r",
        "Each triplet loss differentiated where its triplet is active: row $L^i$, column $f_j$ holds $\\partial L^i / \\partial f_j$.",
        size="footnotesize",
    )
    return {"subgradients": subgradients, "patterns": patterns, "q5": gradients}


def context(d: ReportData) -> dict[str, Any]:
    p = part2_context(d.verification)
    checks = [
        ["check", "passed", "of"],
        ["numeric checks (autograd, finite differences, gradcheck)", p["numeric_passed"], p["numeric_total"]],
        ["published answers that agree with the derivation", p["published_agreeing"], p["published_checked"]],
    ]
    return {
        **p,
        "tables": _tables(p),
        "equations": {"q3": _equations(p["q3"]), "q6": _equations(p["q6"])},
        "html_rows": checks,
    }
