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

Every gradient is derived by sympy from ``Max(0, F)`` (whose derivative sympy writes as
``Heaviside(F)``) and evaluated in a regime by setting that step to 0 (F < 0) or 1 (F > 0).
The formulas are then checked in float64 against torch autograd and central finite
differences at random points, for scalar embeddings and for vectors of several sizes (where
they hold component by component), and by ``torch.autograd.gradcheck`` on an autograd
Function whose backward *is* the derived formulas. Q6 is also derived in general, with the
step 1[F_i > 0] of each triplet kept, and checked where some triplets are active and some not. Each published answer is compared with
the derivation (``simplify(published - derived) == 0``); a disagreement is recorded as a
verdict, not raised, because the report is meant to show it.

Output: a JSON object (``results/triplet/verification.json``) with these keys; the
TypedDict :class:`VerificationDoc` at the end of this module is its schema, key by key, and a
test validates a document against it. Every ``<expr>`` is plain text that ``sympy.sympify``
parses in the symbols f1 … f6 (or f_a, f_p, f_n for Q3), e.g. ``"f5 - f2"`` or ``"0"``; every
``*_latex`` value is the same expression as LaTeX, e.g. ``"f_{5} - f_{2}"``. The report
prints these LaTeX forms as they are: it derives and parses nothing.

- ``problem``: ``classes`` (lists of names), ``margin``, ``source`` of the published
  answers, ``symbols_latex`` (each embedding, f_a, f_p, f_n and the margin as LaTeX),
  ``triplets`` (``name``, ``anchor``, ``positive``, ``negative``, ``F``, ``latex`` of the
  loss name, ``activity_latex``: the indicator 1[F_i > 0] as LaTeX).
- ``q2``: ``F``/``F_latex`` of one triplet (scalar form; for vectors the squares are squared
  norms), ``F_norm``/``F_norm_latex`` (the original's form with norms, ``Norm(x)`` in the
  text) and ``F_norm_is_F`` (the two agree for scalars), ``dL_dF`` as sympy derives it,
  ``sympy_heaviside_at_zero`` (and ``_latex``), ``one_sided`` (the analytic argument at
  F = 0, per side: ``max_value`` of max(0, 0 + h) for a step h of that sign, the difference
  ``quotient`` and its ``limit``, each also as LaTeX with h printed as Delta h),
  ``differentiable_at_zero`` (the two limits agree), ``regimes`` (one entry per regime
  "F < 0", "F = 0", "F > 0": ``dL_dF``, ``differentiable``, ``gradients`` and
  ``gradients_latex``, or the measured one-sided derivatives), ``kink_point`` (embeddings and
  alpha with F = 0 exactly) and ``subgradients`` (per torch operator: ``call``, measured
  ``dL_dF_at_zero`` and the ``gradients_at_kink_point`` it produces).
- ``q3``: ``{"f_a" | "f_p" | "f_n": {"text": <expr>, "latex": ...}}`` for F > 0.
- ``q4``: ``used`` triplets (each with its class ``pattern``), ``used_count``,
  ``used_distinct``, ``used_all_valid``, ``used_by_pattern``, ``total_valid`` (all ordered
  valid triplets the classes admit), ``counting`` (how that number arises),
  ``valid_class_patterns``, ``valid_patterns`` (each with its number of ``triplets``),
  ``pattern_count`` (all label patterns), ``published_count``, and the verdict on the label
  patterns the original lists: ``published_patterns`` (``pattern``, ``valid``, ``defects``,
  ``triplets``), ``published_valid_patterns``, ``published_patterns_checked`` and
  ``published_patterns_valid``.
- ``q5``: ``{"L1": {"f1": <expr>, …, "f6": <expr>}, …, "L8": {…}}`` (each triplet active).
- ``q5_latex``: the same shape, LaTeX.
- ``q6``: ``{"f1": <expr>, …, "f6": <expr>}`` for L = sum of all L^i, all active.
- ``q6_latex``: the same shape, LaTeX.
- ``q6_general``: ``{"f1": {"L1": <expr>, …}, …}``: dL/df_j for any activity is the sum over
  i of 1[F_i > 0] times the entry for L^i (triplets whose gradient is 0 are left out);
  derived from the summed loss with its steps kept, not from Q5.
- ``q6_general_latex``: per embedding, its terms (``loss``, ``indicator``, ``gradient``,
  ``term``) as LaTeX; ``q6_general_all_active_is_q6``: every indicator 1 gives ``q6``.
- ``published``: one entry per published formula (Q3, Q5, Q6): ``question`` ("Q5.6"),
  ``target`` ("dL6/df5"), ``expected`` (published text), ``derived``, ``agrees``,
  ``difference`` (published minus derived, expanded), ``latex_expected`` (in the published
  term order), ``latex_derived``.
- ``kink``: ``left_derivative`` and ``right_derivative`` of max(0, F) at F = 0 as measured
  (difference quotients at the smallest step), ``differentiable``, ``steps``, the
  ``left_quotients`` / ``right_quotients`` at each step and ``agrees_with_analytic`` (the
  measured derivatives are the limits of ``q2.one_sided``).
- ``numeric``: ``dtype``, ``seed``, ``points`` per check, ``dims`` ("scalar" or a vector
  size), ``finite_difference_step``, ``tolerances`` (per method), ``min_active_F``,
  ``max_inactive_F`` and ``min_abs_mixed_F`` (over the points where some triplets are active
  and some not) over the sampled points, ``checks`` (``target`` q3/q5/q6/"q2 F<0"/"q6 general",
  ``method`` autograd/finite_difference, ``dim``, ``points``, ``max_abs_error``, ``worst``
  gradient, ``passed``), ``gradcheck`` (``target``, ``dim``, ``passed``) and ``passed``.
- ``summary``: ``published_checked``, ``published_agreeing``, ``by_question`` (``checked``
  and ``agreeing`` for "Q3", "Q5", "Q6"), ``disagreements`` (question,
  target, expected, derived), ``numeric_checks``, ``numeric_checks_passed``.
- ``all_numeric_checks_passed``: true when every numeric check and gradcheck passed.
"""

from __future__ import annotations

import functools
import itertools
import keyword
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import sympy as sp
import torch
import yaml
from sympy.parsing.sympy_parser import parse_expr
from typing_extensions import NotRequired, TypedDict

from .errors import UserError

DEFAULT_PROBLEM = Path(__file__).with_name("triplet_problem.yaml")

ROLES = ("anchor", "positive", "negative")
# Q3 is stated for one generic triplet; these are its symbols, in ROLES order.
GENERIC = ("f_a", "f_p", "f_n")
GENERIC_INDEX = torch.tensor([[0, 1, 2]])

DIMS: tuple[int | None, ...] = (None, 1, 2, 16, 128)
"""Embedding shapes checked: None is a scalar embedding, an int a vector of that size."""

POINTS = 25
SEED = 0
FD_STEP = 1e-6
# Derived formula and autograd do the same few float64 operations, so they agree to
# rounding; a wrong formula is off by O(1).
AUTOGRAD_TOL = {"atol": 1e-10, "rtol": 1e-10}
# Central differences are exact for a quadratic up to rounding, which grows like
# eps * |L| / step (|L| reaches a few hundred at size 128).
FD_TOL = {"atol": 1e-5, "rtol": 1e-5}
GRADCHECK_TOL = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3}

# The forward value is the same for all three; they differ only in the gradient they return
# at F = 0, which is what Q2 asks about.
SUBGRADIENT_OPERATORS: tuple[tuple[str, Callable[[torch.Tensor], torch.Tensor]], ...] = (
    ("torch.relu(F)", torch.relu),
    ("torch.clamp(F, min=0)", lambda F: torch.clamp(F, min=0.0)),
    ("torch.maximum(F, torch.zeros_like(F))", lambda F: torch.maximum(F, torch.zeros_like(F))),
)
KINK_STEPS = (1e-1, 1e-3, 1e-6, 1e-9)
# The general Q6 is checked where some triplets are active and some not, none this near F = 0.
MIXED_MIN_F = 0.05
# f_a = 0, f_p = 1, f_n = 2 and alpha = 3/2 give F = 1/2 + 3/2 - 2 = 0 exactly in binary.
KINK_POINT = {"f_a": 0.0, "f_p": 1.0, "f_n": 2.0}
KINK_ALPHA = 1.5


@dataclass(frozen=True)
class Triplet:
    """One triplet loss L^i: names of its anchor, positive and negative embeddings."""

    name: str
    anchor: str
    positive: str
    negative: str

    @property
    def members(self) -> tuple[str, str, str]:
        return (self.anchor, self.positive, self.negative)


@dataclass(frozen=True)
class Published:
    """The original report's answers, as plain sympy-parseable text."""

    source: str
    q3: Mapping[str, str]
    q4_count: int
    # Q4's list of label patterns: the class (1, 2, …) of anchor, positive and negative.
    q4_patterns: tuple[tuple[int, int, int], ...]
    q5: Mapping[str, Mapping[str, str]]
    q6: Mapping[str, str]


@dataclass(frozen=True)
class Problem:
    """The Part 2 problem: embedding classes, margin symbol, triplets, published answers."""

    classes: tuple[tuple[str, ...], ...]
    margin: str
    triplets: tuple[Triplet, ...]
    published: Published

    @property
    def embeddings(self) -> tuple[str, ...]:
        return tuple(name for group in self.classes for name in group)


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


# ----------------------------------------------------------------------------- loading


def load_problem(path: str | os.PathLike[str] = DEFAULT_PROBLEM) -> Problem:
    """Read and validate a problem file; any defect is a one-line :class:`UserError`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"problem file {path} not found; pass --problem src/imdb_rnn/triplet_problem.yaml") from exc
    except OSError as exc:
        raise UserError(f"cannot read problem file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"problem file {path} is not valid YAML{where}") from exc
    try:
        return parse_problem(data)
    except UserError as exc:
        raise UserError(f"problem file {path}: {exc}") from exc


def parse_problem(data: Any) -> Problem:
    """Validate the mapping read from a problem file and build a :class:`Problem`."""
    top = _mapping(data, "the file", {"classes", "margin", "triplets", "published"})
    classes = _classes(top["classes"])
    names = [name for group in classes for name in group]
    margin = _identifier(top["margin"], "margin")
    if margin in names or margin in GENERIC:
        raise UserError(f"margin: {margin!r} is also an embedding name; pick another symbol")
    class_of = {name: index for index, group in enumerate(classes) for name in group}
    triplets = _triplets(top["triplets"], class_of)
    published = _published(top["published"], names, [t.name for t in triplets], len(classes))
    return Problem(classes=classes, margin=margin, triplets=triplets, published=published)


def _mapping(value: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping with keys {', '.join(sorted(keys))}")
    missing = keys - value.keys()
    unknown = set(value) - keys
    if missing:
        raise UserError(f"{where}: missing key(s) {', '.join(sorted(missing))}")
    if unknown:
        raise UserError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    return value


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.isidentifier() or keyword.iskeyword(value):
        raise UserError(f"{where}: expected a symbol name such as f1, got {value!r}")
    return value


def _classes(value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise UserError("classes: expected a list of at least two lists of embedding names")
    classes = []
    seen: set[str] = set()
    for index, group in enumerate(value):
        if not isinstance(group, list) or len(group) < 2:
            raise UserError(f"classes[{index}]: expected a list of at least two embedding names")
        for name in group:
            _identifier(name, f"classes[{index}]")
            if name in seen or name in GENERIC:
                raise UserError(f"classes[{index}]: {name!r} is used twice or clashes with f_a/f_p/f_n")
            seen.add(name)
        classes.append(tuple(group))
    return tuple(classes)


def _triplets(value: Any, class_of: Mapping[str, int]) -> tuple[Triplet, ...]:
    if not isinstance(value, dict) or not value:
        raise UserError("triplets: expected a mapping L1: {anchor: f1, positive: f2, negative: f5}, ...")
    triplets = []
    for name, spec in value.items():
        _identifier(name, "triplets")
        spec = _mapping(spec, f"triplets.{name}", set(ROLES))
        for role in ROLES:
            if spec[role] not in class_of:
                raise UserError(f"triplets.{name}.{role}: {spec[role]!r} is not in any class")
        anchor, positive, negative = (spec[role] for role in ROLES)
        if anchor == positive:
            raise UserError(f"triplets.{name}: anchor and positive are both {anchor}")
        if class_of[anchor] != class_of[positive]:
            raise UserError(f"triplets.{name}: positive {positive} is not in the anchor's class")
        if class_of[anchor] == class_of[negative]:
            raise UserError(f"triplets.{name}: negative {negative} is in the anchor's class")
        triplets.append(Triplet(name, anchor, positive, negative))
    return tuple(triplets)


def _published(value: Any, names: Sequence[str], losses: Sequence[str], n_classes: int) -> Published:
    top = _mapping(value, "published", {"source", "q3", "q4_count", "q4_patterns", "q5", "q6"})
    q3 = _formulas(top["q3"], "published.q3", GENERIC, GENERIC)
    q5_raw = _mapping(top["q5"], "published.q5", set(losses))
    q5 = {loss: _formulas(q5_raw[loss], f"published.q5.{loss}", names, names) for loss in losses}
    q6 = _formulas(top["q6"], "published.q6", names, names)
    count = top["q4_count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise UserError(f"published.q4_count: expected a whole number, got {count!r}")
    patterns = _patterns(top["q4_patterns"], n_classes)
    return Published(source=str(top["source"]), q3=q3, q4_count=count, q4_patterns=patterns, q5=q5, q6=q6)


def _patterns(value: Any, n_classes: int) -> tuple[tuple[int, int, int], ...]:
    """Label patterns such as [2, 2, 1]: the class number (from 1) of anchor, positive, negative."""
    if not isinstance(value, list):
        raise UserError("published.q4_patterns: expected a list of [anchor, positive, negative] class numbers, e.g. [1, 1, 2]")
    for index, pattern in enumerate(value):
        if (
            not isinstance(pattern, list)
            or len(pattern) != 3
            or not all(isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= n_classes for c in pattern)
        ):
            raise UserError(f"published.q4_patterns[{index}]: expected three class numbers from 1 to {n_classes}, got {pattern!r}")
    return tuple((a, p, n) for a, p, n in value)


def _formulas(value: Any, where: str, keys: Sequence[str], symbols: Sequence[str]) -> dict[str, str]:
    table = _mapping(value, where, set(keys))
    out = {}
    for key in keys:
        text = table[key]
        # YAML reads an unquoted 0 as a number; it is still a formula.
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise UserError(f'{where}.{key}: expected a formula such as "f5 - f2", got {text!r}')
        parse_formula(text, symbols, f"{where}.{key}")
        out[key] = text
    return out


def parse_formula(text: str, symbols: Sequence[str], where: str = "formula", evaluate: bool = True) -> sp.Expr:
    """Parse ``text`` with sympy, allowing only the given symbol names."""
    local = {name: sp.Symbol(name) for name in symbols}
    try:
        expr = parse_expr(text, local_dict=local, evaluate=evaluate)
    # sympy's parser raises many kinds of error on bad text; all mean "not a formula".
    except Exception as exc:
        raise UserError(f"{where}: cannot parse {text!r} as a formula ({type(exc).__name__})") from exc
    if not isinstance(expr, sp.Expr):
        raise UserError(f"{where}: {text!r} is not an expression")
    unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in local)
    if unknown:
        raise UserError(f"{where}: {text!r} uses unknown symbol(s) {', '.join(unknown)}; allowed: {', '.join(symbols)}")
    return expr


# ---------------------------------------------------------------------------- derivation


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


def _linear_terms(expr: sp.Expr, order: Sequence[str]) -> list[tuple[sp.Expr, sp.Expr]]:
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
    for coefficient, term in _linear_terms(expr, order):
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


# ---------------------------------------------------------------------- published answers


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


# ------------------------------------------------------------------------ numeric checks


@dataclass(frozen=True)
class GradientCase:
    """Losses to differentiate numerically and the derived formulas claimed for them.

    ``outputs`` are weighted sums of the triplet losses (row o of ``weights``), so one case
    covers each L^i and their total. ``formulas[o][j]`` is the claimed gradient of output o
    with respect to embedding j, as a sympy expression in ``names``.
    """

    names: tuple[str, ...]
    index: torch.Tensor
    weights: torch.Tensor
    labels: tuple[str, ...]
    formulas: tuple[tuple[sp.Expr, ...], ...]

    def F(self, emb: torch.Tensor, alpha: float, vector: bool) -> torch.Tensor:
        """F of each triplet: shape (..., k)."""
        return triplet_F_values(emb, self.index, alpha, vector)

    def outputs(self, emb: torch.Tensor, alpha: float, vector: bool) -> torch.Tensor:
        """Each output's loss, max(0, F) per triplet then weighted: shape (..., m)."""
        return torch.relu(self.F(emb, alpha, vector)) @ self.weights.T

    def derived(self, emb: torch.Tensor) -> torch.Tensor:
        """The formulas evaluated at ``emb`` (n, *shape): shape (m, n, *shape)."""
        values = list(emb.unbind(0))
        out = torch.empty((len(self.formulas),) + tuple(emb.shape), dtype=emb.dtype)
        for o, row in enumerate(self.functions):
            for j, fn in enumerate(row):
                out[o, j] = fn(*values)
        return out

    @functools.cached_property
    def functions(self) -> tuple[tuple[Callable[..., Any], ...], ...]:
        """The formulas compiled once; lambdify is far slower than evaluating its result."""
        symbols = [sp.Symbol(n) for n in self.names]
        # Gradients of a quadratic are polynomials: plain arithmetic, which tensors support.
        return tuple(tuple(sp.lambdify(symbols, expr, modules="math") for expr in row) for row in self.formulas)


def triplet_F_values(emb: torch.Tensor, index: torch.Tensor, alpha: float, vector: bool) -> torch.Tensor:
    """F per triplet in torch. ``emb`` is (..., n) for scalar embeddings or (..., n, D) for
    vectors; ``index`` rows are (anchor, positive, negative) positions; result (..., k)."""
    x = emb if vector else emb.unsqueeze(-1)
    # Row i of near/far picks f_a - f_p / f_a - f_n of triplet i: one batched matmul each,
    # which keeps thousands of finite-difference evaluations fast.
    eye = torch.eye(x.shape[-2], dtype=x.dtype)
    near = (eye[index[:, 0]] - eye[index[:, 1]]) @ x
    far = (eye[index[:, 0]] - eye[index[:, 2]]) @ x
    return 0.5 * (near * near).sum(-1) + alpha - 0.5 * (far * far).sum(-1)


def _gradient_label(labels: Sequence[str], names: Sequence[str], flat: int, shape: tuple[int, ...]) -> str:
    """Name the gradient at a flat index of a (len(labels), n, *shape) tensor: dL6/df5."""
    size = math.prod(shape)
    o, rest = divmod(flat, len(names) * size)
    return f"d{labels[o]}/d{names[rest // size]}"


def q3_case(derivation: Derivation, regime: int = 1) -> GradientCase:
    """One generic triplet (f_a, f_p, f_n) with the Q3 formulas, active or inactive."""
    formulas = derivation.q3 if regime else derivation.q3_inactive
    return GradientCase(
        names=GENERIC,
        index=GENERIC_INDEX,
        weights=torch.ones((1, 1), dtype=torch.float64),
        labels=("L",),
        formulas=(tuple(formulas[n] for n in GENERIC),),
    )


def q5_q6_case(problem: Problem, derivation: Derivation) -> GradientCase:
    """The problem's triplets: outputs L1 … Lk with the Q5 formulas, then L with Q6."""
    names = problem.embeddings
    position = {name: i for i, name in enumerate(names)}
    k = len(problem.triplets)
    weights = torch.cat([torch.eye(k, dtype=torch.float64), torch.ones((1, k), dtype=torch.float64)])
    rows = [tuple(derivation.q5[t.name][e] for e in names) for t in problem.triplets]
    rows.append(tuple(derivation.q6[e] for e in names))
    return GradientCase(
        names=names,
        index=torch.tensor([[position[m] for m in t.members] for t in problem.triplets]),
        weights=weights,
        labels=tuple(t.name for t in problem.triplets) + ("L",),
        formulas=tuple(rows),
    )


def general_case(problem: Problem, derivation: Derivation, active: Mapping[str, bool]) -> GradientCase:
    """The total L with the general Q6 formulas, each 1[F_i > 0] set to ``active[L_i]``."""
    names = problem.embeddings
    position = {name: i for i, name in enumerate(names)}
    k = len(problem.triplets)
    row = tuple(sp.Add(*(c for loss, c in derivation.q6_general[e].items() if active[loss])) for e in names)
    return GradientCase(
        names=names,
        index=torch.tensor([[position[m] for m in t.members] for t in problem.triplets]),
        weights=torch.ones((1, k), dtype=torch.float64),
        labels=("L",),
        formulas=(row,),
    )


def mixed_point(case: GradientCase, dim: int | None, gen: torch.Generator) -> tuple[torch.Tensor, float]:
    """Random embeddings and a margin halfway between the middle two F_i - alpha, so that half
    of the triplets are active and half are not, every F_i at least MIXED_MIN_F from the kink
    (drawn again until it is), far beyond the finite-difference step."""
    while True:
        emb = torch.randn((len(case.names),) + _shape(dim), generator=gen, dtype=torch.float64)
        gaps = sorted(case.F(emb, 0.0, dim is not None).tolist())
        middle = len(gaps) // 2
        if gaps[middle] - gaps[middle - 1] >= 2 * MIXED_MIN_F:
            return emb, -(gaps[middle - 1] + gaps[middle]) / 2


def _shape(dim: int | None) -> tuple[int, ...]:
    return () if dim is None else (dim,)


def _dim_label(dim: int | None) -> str | int:
    return "scalar" if dim is None else dim


def active_point(case: GradientCase, dim: int | None, gen: torch.Generator) -> tuple[torch.Tensor, float]:
    """Random embeddings and a positive margin that makes every triplet's F at least 0.5."""
    emb = torch.randn((len(case.names),) + _shape(dim), generator=gen, dtype=torch.float64)
    offset = 0.5 + 1.5 * torch.rand((), generator=gen, dtype=torch.float64).item()
    # F_i = alpha + gap_i, so alpha >= offset - min(gap) puts every F_i at offset or above;
    # the floor at 0 keeps alpha a margin (positive) even when every gap is already large.
    gaps = case.F(emb, 0.0, dim is not None)
    alpha = max(-gaps.min().item(), 0.0) + offset
    return emb, alpha


def inactive_point(dim: int | None, gen: torch.Generator) -> tuple[torch.Tensor, float]:
    """A generic triplet (f_a, f_p, f_n) with a positive margin and F <= -0.5."""
    shape = _shape(dim)
    anchor, positive, direction = torch.randn((3,) + shape, generator=gen, dtype=torch.float64).unbind(0)
    alpha = 0.1 + 0.9 * torch.rand((), generator=gen, dtype=torch.float64).item()
    offset = 0.5 + 1.5 * torch.rand((), generator=gen, dtype=torch.float64).item()
    # Put the negative at distance r from the anchor with r^2 = ||a - p||^2 + 2(alpha + offset),
    # so F = -offset exactly in real arithmetic.
    radius = torch.sqrt(((anchor - positive) ** 2).sum() + 2 * (alpha + offset))
    unit = direction / direction.norm() if dim is not None else torch.sign(direction)
    return torch.stack([anchor, positive, anchor + radius * unit]), alpha


def autograd_gradient(case: GradientCase, emb: torch.Tensor, alpha: float) -> torch.Tensor:
    """Gradient of every output by torch autograd: shape (m, n, *shape)."""
    x = emb.clone().requires_grad_(True)
    out = case.outputs(x, alpha, emb.dim() > 1)
    rows = [torch.autograd.grad(out[o], x, retain_graph=True)[0] for o in range(out.shape[0])]
    return torch.stack(rows)


def finite_difference_gradient(case: GradientCase, emb: torch.Tensor, alpha: float, step: float = FD_STEP) -> torch.Tensor:
    """Central differences of every output, all coordinates at once: shape (m, n, *shape)."""
    flat = emb.reshape(-1)
    bump = step * torch.eye(flat.numel(), dtype=emb.dtype)
    plus = (flat + bump).reshape((-1,) + tuple(emb.shape))
    minus = (flat - bump).reshape((-1,) + tuple(emb.shape))
    vector = emb.dim() > 1
    quotient = (case.outputs(plus, alpha, vector) - case.outputs(minus, alpha, vector)) / (2 * step)
    return quotient.T.reshape((-1,) + tuple(emb.shape))


class _DerivedBackward(torch.autograd.Function):
    """The case's losses forward, the *derived* formulas backward, so gradcheck tests them."""

    @staticmethod
    def forward(ctx: Any, emb: torch.Tensor, case: GradientCase, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(emb)
        ctx.case = case
        return case.outputs(emb, alpha, emb.dim() > 1)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (emb,) = ctx.saved_tensors
        return torch.tensordot(grad_out, ctx.case.derived(emb), dims=1), None, None


def derived_gradcheck(case: GradientCase, emb: torch.Tensor, alpha: float) -> bool:
    """``torch.autograd.gradcheck`` of the derived backward at an active point."""
    x = emb.clone().requires_grad_(True)
    return bool(torch.autograd.gradcheck(lambda e: _DerivedBackward.apply(e, case, alpha), (x,), raise_exception=False, **GRADCHECK_TOL))


@dataclass
class _Tally:
    """Running result of one check over many points: worst error, where, and pass/fail."""

    error: float = 0.0
    worst: str | None = None
    passed: bool = True

    def add(
        self,
        derived: torch.Tensor,
        reference: torch.Tensor,
        tol: Mapping[str, float],
        labels: Sequence[str],
        names: Sequence[str],
    ) -> None:
        error = (derived - reference).abs()
        self.passed &= bool((error <= tol["atol"] + tol["rtol"] * reference.abs()).all())
        largest = float(error.max())
        # Strictly greater: with no error at all there is no "worst" gradient to name.
        if largest > self.error:
            self.error = largest
            self.worst = _gradient_label(labels, names, int(error.reshape(-1).argmax()), tuple(derived.shape[2:]))

    def merge(self, other: _Tally) -> None:
        """Fold in the tally of more points."""
        self.passed &= other.passed
        if other.error > self.error:
            self.error, self.worst = other.error, other.worst


METHODS: tuple[tuple[str, Callable[[GradientCase, torch.Tensor, float], torch.Tensor], Mapping[str, float]], ...] = (
    ("autograd", autograd_gradient, AUTOGRAD_TOL),
    ("finite_difference", finite_difference_gradient, FD_TOL),
)


def _run_case(
    case: GradientCase,
    targets: Sequence[tuple[str, Sequence[int]]],
    samples: Sequence[tuple[torch.Tensor, float]],
) -> dict[tuple[str, str], _Tally]:
    """Compare the derived formulas with each reference method at every sample; each
    target is a slice of the case's outputs (e.g. q5 = L1 … L8, q6 = L)."""
    tallies = {(target, method): _Tally() for target, _ in targets for method, _, _ in METHODS}
    for emb, alpha in samples:
        derived = case.derived(emb)
        for method, gradient, tol in METHODS:
            reference = gradient(case, emb, alpha)
            for target, outputs in targets:
                labels = [case.labels[o] for o in outputs]
                tallies[target, method].add(derived[outputs], reference[outputs], tol, labels, case.names)
    return tallies


def numeric_checks(
    problem: Problem,
    derivation: Derivation,
    *,
    seed: int = SEED,
    points: int = POINTS,
    dims: Sequence[int | None] = DIMS,
) -> dict[str, Any]:
    """Check the derived Q3, Q5, Q6 and F < 0 formulas against autograd, finite differences
    and gradcheck at ``points`` random float64 points per embedding shape."""
    gen = torch.Generator().manual_seed(seed)
    k = len(problem.triplets)
    main = q5_q6_case(problem, derivation)
    generic = q3_case(derivation)
    inactive = q3_case(derivation, regime=0)
    plan = (
        (generic, [("q3", [0])], active_point),
        (main, [("q5", list(range(k))), ("q6", [k])], active_point),
        (inactive, [("q2 F<0", [0])], lambda case, dim, gen: inactive_point(dim, gen)),
    )
    checks: list[dict[str, Any]] = []
    gradchecks: list[dict[str, Any]] = []
    active_F: list[float] = []
    inactive_F: list[float] = []

    for dim in dims:
        for case, targets, draw in plan:
            samples = [draw(case, dim, gen) for _ in range(points)]
            for emb, alpha in samples:
                values = case.F(emb, alpha, dim is not None)
                if case is inactive:
                    inactive_F.append(values.max().item())
                else:
                    active_F.append(values.min().item())
            for (target, method), tally in _run_case(case, targets, samples).items():
                checks.append(
                    {
                        "target": target,
                        "method": method,
                        "dim": _dim_label(dim),
                        "points": points,
                        "max_abs_error": tally.error,
                        "worst": tally.worst,
                        "passed": tally.passed,
                    }
                )
        for target, case in (("q3", generic), ("q5+q6", main)):
            emb, alpha = active_point(case, dim, gen)
            gradchecks.append({"target": target, "dim": _dim_label(dim), "passed": derived_gradcheck(case, emb, alpha)})

    # The general Q6 (any mix of active and inactive triplets), after the others so that
    # their random points do not depend on it.
    mixed_F: list[float] = []
    for dim in dims:
        tallies = {method: _Tally() for method, _, _ in METHODS}
        for _ in range(points):
            emb, alpha = mixed_point(main, dim, gen)
            values = main.F(emb, alpha, dim is not None)
            mixed_F.append(values.abs().min().item())
            case = general_case(problem, derivation, {t.name: bool(v > 0) for t, v in zip(problem.triplets, values, strict=True)})
            for (_, method), tally in _run_case(case, [("q6 general", [0])], [(emb, alpha)]).items():
                tallies[method].merge(tally)
        for method, tally in tallies.items():
            checks.append(
                {
                    "target": "q6 general",
                    "method": method,
                    "dim": _dim_label(dim),
                    "points": points,
                    "max_abs_error": tally.error,
                    "worst": tally.worst,
                    "passed": tally.passed,
                }
            )

    passed = all(c["passed"] for c in checks) and all(g["passed"] for g in gradchecks)
    return {
        "dtype": "float64",
        "seed": seed,
        "points": points,
        "dims": [_dim_label(d) for d in dims],
        "finite_difference_step": FD_STEP,
        "tolerances": {
            "autograd": dict(AUTOGRAD_TOL),
            "finite_difference": dict(FD_TOL),
            "gradcheck": dict(GRADCHECK_TOL),
            "rule": "|derived - reference| <= atol + rtol * |reference| for every component",
        },
        "min_active_F": min(active_F),
        "max_inactive_F": max(inactive_F),
        "min_abs_mixed_F": min(mixed_F),
        "checks": checks,
        "gradcheck": gradchecks,
        "passed": passed,
    }


# ------------------------------------------------------------------------------- the kink


def one_sided_derivatives() -> list[dict[str, Any]]:
    """Q2's argument at F = 0, analytically, in sympy: for a step h < 0, max(0, 0 + h) = 0, and
    for h > 0 it is h, so the difference quotient (max(0, h) - max(0, 0)) / h is constant on
    each side and its one-sided limit is that constant. ``h`` is printed as Delta h."""
    rows = []
    at_zero = sp.Max(0, sp.Integer(0))
    for side, direction, h in (("left", "-", sp.Symbol("h", negative=True)), ("right", "+", sp.Symbol("h", positive=True))):
        value = sp.Max(0, h)
        quotient = sp.simplify((value - at_zero) / h)
        limit = sp.limit(quotient, h, 0, direction)
        names = {h: r"\Delta h"}
        rows.append(
            {
                "side": side,
                "direction": direction,
                "max_at_zero": str(at_zero),
                "max_value": str(value),
                "max_value_latex": sp.latex(value, symbol_names=names),
                "quotient": str(quotient),
                "quotient_latex": sp.latex(quotient, symbol_names=names),
                "limit": str(limit),
                "limit_latex": sp.latex(limit),
            }
        )
    return rows


def measure_kink(steps: Sequence[float] = KINK_STEPS) -> dict[str, Any]:
    """One-sided difference quotients of max(0, F) at F = 0 (Q2's non-differentiability)."""
    zero = torch.zeros((), dtype=torch.float64)
    left, right = [], []
    for h in steps:
        step = torch.tensor(h, dtype=torch.float64)
        left.append(float((torch.relu(zero) - torch.relu(zero - step)) / step))
        right.append(float((torch.relu(zero + step) - torch.relu(zero)) / step))
    return {
        "left_derivative": left[-1],
        "right_derivative": right[-1],
        "differentiable": left[-1] == right[-1],
        "steps": list(steps),
        "left_quotients": left,
        "right_quotients": right,
    }


def measure_subgradients() -> list[dict[str, Any]]:
    """What each torch operator for max(0, F) returns as its gradient at F = 0 exactly."""
    rows = []
    for call, op in SUBGRADIENT_OPERATORS:
        F = torch.zeros((), dtype=torch.float64, requires_grad=True)
        (slope,) = torch.autograd.grad(op(F), F)
        emb = torch.tensor([KINK_POINT[n] for n in GENERIC], dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(op(triplet_F_values(emb, GENERIC_INDEX, KINK_ALPHA, False)).sum(), emb)
        rows.append(
            {
                "call": call,
                "dL_dF_at_zero": float(slope),
                # + 0.0 turns a negative zero into 0.0 so the JSON reads plainly.
                "gradients_at_kink_point": {n: float(g) + 0.0 for n, g in zip(GENERIC, grad, strict=True)},
            }
        )
    return rows


def kink_point_F() -> float:
    """F at :data:`KINK_POINT`, computed the way the losses compute it (exactly 0)."""
    emb = torch.tensor([KINK_POINT[n] for n in GENERIC], dtype=torch.float64)
    return float(triplet_F_values(emb, GENERIC_INDEX, KINK_ALPHA, False)[0])


# -------------------------------------------------------------------------------- Q4


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


# --------------------------------------------------------------------------- the document


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
    symbols = [*names, *GENERIC, problem.margin]
    disagreements = [{key: entry[key] for key in ("question", "target", "expected", "derived")} for entry in published if not entry["agrees"]]
    all_checks = numeric["checks"] + numeric["gradcheck"]
    return {
        "problem": {
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
        },
        "q2": {
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
        },
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
        "summary": {
            "published_checked": len(published),
            "published_agreeing": sum(entry["agrees"] for entry in published),
            "by_question": _by_question(published),
            "disagreements": disagreements,
            "numeric_checks": len(all_checks),
            "numeric_checks_passed": sum(c["passed"] for c in all_checks),
        },
        "all_numeric_checks_passed": numeric["passed"],
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
        single = len(_linear_terms(coefficient, order)) == 1 and not gradient.startswith("-")
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


# ------------------------------------------------------------------------------ the schema
# The JSON document :func:`verify` returns, key by key. tests/test_triplet.py validates a
# document against it with pydantic (every key present, no key unknown, every value typed).

_closed = pydantic.with_config(pydantic.ConfigDict(extra="forbid"))


@_closed
class TripletDoc(TypedDict):
    name: str
    anchor: str
    positive: str
    negative: str
    F: str
    latex: str  # "L^{1}"
    activity_latex: str  # "\\mathbf{1}[F_{1} > 0]"


@_closed
class ProblemDoc(TypedDict):
    classes: list[list[str]]
    margin: str
    source: str
    symbols_latex: dict[str, str]  # every embedding, f_a/f_p/f_n and the margin
    triplets: list[TripletDoc]


@_closed
class RegimeDoc(TypedDict):
    regime: str  # "F < 0", "F = 0", "F > 0"
    differentiable: bool
    dL_dF: NotRequired[str]
    gradients: NotRequired[dict[str, str]]
    gradients_latex: NotRequired[dict[str, str]]
    left_derivative: NotRequired[float]
    right_derivative: NotRequired[float]


@_closed
class OneSidedDoc(TypedDict):
    side: str  # "left" | "right"
    direction: str  # "-" | "+"
    max_at_zero: str
    max_value: str  # max(0, 0 + h) for h of that sign
    max_value_latex: str
    quotient: str
    quotient_latex: str
    limit: str
    limit_latex: str


@_closed
class SubgradientDoc(TypedDict):
    call: str
    dL_dF_at_zero: float
    gradients_at_kink_point: dict[str, float]


@_closed
class Q2Doc(TypedDict):
    F: str
    F_latex: str
    F_norm: str  # the original's form, with Norm(x) for ||x||
    F_norm_latex: str
    F_norm_is_F: bool
    dL_dF: str
    sympy_heaviside_at_zero: str
    sympy_heaviside_at_zero_latex: str
    one_sided: list[OneSidedDoc]
    differentiable_at_zero: bool
    regimes: list[RegimeDoc]
    kink_point: dict[str, float]
    subgradients: list[SubgradientDoc]


@_closed
class FormulaDoc(TypedDict):
    text: str
    latex: str


@_closed
class UsedTripletDoc(TypedDict):
    name: str
    anchor: str
    positive: str
    negative: str
    pattern: list[int]


@_closed
class PatternLossesDoc(TypedDict):
    pattern: list[int]
    losses: list[str]


@_closed
class PatternCountDoc(TypedDict):
    pattern: list[int]
    triplets: int


@_closed
class PublishedPatternDoc(TypedDict):
    pattern: list[int]
    valid: bool
    defects: list[str]
    triplets: int


@_closed
class Q4Doc(TypedDict):
    used: list[UsedTripletDoc]
    used_count: int
    used_distinct: bool
    used_all_valid: bool
    used_by_pattern: list[PatternLossesDoc]
    total_valid: int
    counting: str
    valid_class_patterns: list[list[int]]
    valid_patterns: list[PatternCountDoc]
    pattern_count: int
    published_count: int
    published_patterns: list[PublishedPatternDoc]
    published_valid_patterns: list[list[int]]
    published_patterns_checked: int
    published_patterns_valid: int


@_closed
class GeneralTermDoc(TypedDict):
    loss: str
    indicator: str
    gradient: str
    term: str


@_closed
class PublishedDoc(TypedDict):
    question: str
    target: str
    expected: str
    derived: str
    agrees: bool
    difference: str
    latex_expected: str
    latex_derived: str


@_closed
class KinkDoc(TypedDict):
    left_derivative: float
    right_derivative: float
    differentiable: bool
    steps: list[float]
    left_quotients: list[float]
    right_quotients: list[float]
    agrees_with_analytic: bool


@_closed
class CheckDoc(TypedDict):
    target: str  # "q3", "q5", "q6", "q2 F<0", "q6 general"
    method: str
    dim: str | int
    points: int
    max_abs_error: float
    worst: str | None
    passed: bool


@_closed
class GradcheckDoc(TypedDict):
    target: str
    dim: str | int
    passed: bool


@_closed
class NumericDoc(TypedDict):
    dtype: str
    seed: int
    points: int
    dims: list[str | int]
    finite_difference_step: float
    tolerances: dict[str, dict[str, float] | str]
    min_active_F: float
    max_inactive_F: float
    min_abs_mixed_F: float
    checks: list[CheckDoc]
    gradcheck: list[GradcheckDoc]
    passed: bool


@_closed
class TallyDoc(TypedDict):
    checked: int
    agreeing: int


@_closed
class DisagreementDoc(TypedDict):
    question: str
    target: str
    expected: str
    derived: str


@_closed
class SummaryDoc(TypedDict):
    published_checked: int
    published_agreeing: int
    by_question: dict[str, TallyDoc]  # "Q3", "Q5", "Q6"
    disagreements: list[DisagreementDoc]
    numeric_checks: int
    numeric_checks_passed: int


@_closed
class VerificationDoc(TypedDict):
    problem: ProblemDoc
    q2: Q2Doc
    q3: dict[str, FormulaDoc]
    q4: Q4Doc
    q5: dict[str, dict[str, str]]
    q5_latex: dict[str, dict[str, str]]
    q6: dict[str, str]
    q6_latex: dict[str, str]
    q6_general: dict[str, dict[str, str]]
    q6_general_latex: dict[str, list[GeneralTermDoc]]
    q6_general_all_active_is_q6: bool
    published: list[PublishedDoc]
    kink: KinkDoc
    numeric: NumericDoc
    summary: SummaryDoc
    all_numeric_checks_passed: bool
