"""The original report's published answers judged against the derivation (Q3–Q6), and Q4.

Each published formula is compared with the derivation (``simplify(published - derived) == 0``);
a disagreement is recorded as a verdict, not raised, because the report is meant to show it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import sympy as sp

from imdb_rnn.triplet.problem import GENERIC, Problem, parse_formula
from imdb_rnn.triplet.symbolic import Derivation, to_latex, to_text


def check_published(problem: Problem, derivation: Derivation) -> list[dict[str, Any]]:
    """Compare every published Q3, Q5 and Q6 formula with the derivation."""
    names = problem.embeddings
    rows: list[tuple[str, str, str, sp.Expr, Sequence[str]]] = []
    for name in GENERIC:
        rows.append(("Q3", f"dL/d{name}", problem.published.q3[name], derivation.q3[name], GENERIC))
    for number, t in enumerate(problem.triplets, start=1):
        for e in names:
            loss = t.name
            rows.append((f"Q5.{number}", f"d{loss}/d{e}", problem.published.q5[loss][e], derivation.q5[loss][e], names))
    for e in names:
        rows.append(("Q6", f"dL/d{e}", problem.published.q6[e], derivation.q6[e], names))

    entries = []
    for question, target, text, derived, symbols in rows:
        expected = parse_formula(text, symbols, target)
        difference = sp.simplify(expected - derived)
        entries.append(
            {
                "question": question,
                "target": target,
                "expected": text,
                "derived": to_text(derived, symbols),
                "agrees": bool(difference == 0),
                "difference": str(sp.expand(difference)),
                # Unevaluated parse keeps the published term order for the report.
                "latex_expected": sp.latex(parse_formula(text, symbols, target, evaluate=False), order="none"),
                "latex_derived": to_latex(derived, symbols),
            }
        )
    return entries


def valid_triplets(classes: Sequence[Sequence[str]]) -> list[tuple[str, str, str]]:
    """Every ordered (anchor, positive, negative): positive in the anchor's class, distinct
    from it; negative in another class."""
    out = []
    for group in classes:
        others = [name for other in classes if other is not group for name in other]
        for anchor, positive in itertools.permutations(group, 2):
            out.extend((anchor, positive, negative) for negative in others)
    return out


def pattern_defects(pattern: Sequence[int]) -> list[str]:
    """Why a label pattern (class of anchor, positive, negative) is no valid triplet; [] if it is."""
    anchor, positive, negative = pattern
    defects = []
    if positive != anchor:
        defects.append("positive not from the anchor's class")
    if negative == anchor:
        defects.append("negative from the anchor's class")
    return defects


def q4_summary(problem: Problem) -> dict[str, Any]:
    """The triplets Q5 uses, how they relate to all valid triplets of the classes, and a
    verdict on each label pattern the original's Q4 lists."""
    valid = valid_triplets(problem.classes)
    valid_set = set(valid)
    used = [t.members for t in problem.triplets]
    sizes = [len(group) for group in problem.classes]
    n = sum(sizes)
    counting = " + ".join(f"{s}*{s - 1}*{n - s}" for s in sizes) + f" = {len(valid)}"
    class_of = {name: i + 1 for i, group in enumerate(problem.classes) for name in group}

    def pattern_of(members: Sequence[str]) -> tuple[int, ...]:
        return tuple(class_of[m] for m in members)

    per_pattern: dict[tuple[int, ...], int] = {}
    for members in valid:
        per_pattern[pattern_of(members)] = per_pattern.get(pattern_of(members), 0) + 1
    patterns = sorted(per_pattern)
    published = [
        {"pattern": list(p), "valid": p in per_pattern, "defects": pattern_defects(p), "triplets": per_pattern.get(p, 0)}
        for p in problem.published.q4_patterns
    ]
    by_pattern = [
        {"pattern": list(p), "losses": [t.name for t in problem.triplets if pattern_of(t.members) == p]}
        for p in sorted({pattern_of(u) for u in used})
    ]
    return {
        "used": [
            {"name": t.name, "anchor": t.anchor, "positive": t.positive, "negative": t.negative, "pattern": list(pattern_of(t.members))}
            for t in problem.triplets
        ],
        "used_count": len(used),
        "used_distinct": len(set(used)) == len(used),
        "used_all_valid": all(u in valid_set for u in used),
        "used_by_pattern": by_pattern,
        "total_valid": len(valid),
        "counting": counting,
        "valid_class_patterns": [list(p) for p in patterns],
        "valid_patterns": [{"pattern": list(p), "triplets": per_pattern[p]} for p in patterns],
        "pattern_count": len(problem.classes) ** 3,
        "published_count": problem.published.q4_count,
        "published_patterns": published,
        "published_valid_patterns": [entry["pattern"] for entry in published if entry["valid"]],
        "published_patterns_checked": len(published),
        "published_patterns_valid": sum(entry["valid"] for entry in published),
    }
