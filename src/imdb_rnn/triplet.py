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
Function whose backward *is* the derived formulas. Each published answer is compared with
the derivation (``simplify(published - derived) == 0``); a disagreement is recorded as a
verdict, not raised, because the report is meant to show it.

Output: a JSON object (``results/triplet/verification.json``) with these keys. Every
``<expr>`` is plain text that ``sympy.sympify`` parses in the symbols f1 … f6 (or f_a, f_p,
f_n for Q3), e.g. ``"f5 - f2"`` or ``"0"``; every ``*_latex`` value is the same expression as
LaTeX, e.g. ``"f_{5} - f_{2}"``.

- ``problem``: ``classes`` (lists of names), ``margin``, ``source`` of the published
  answers, ``triplets`` (``name``, ``anchor``, ``positive``, ``negative``, ``F``).
- ``q2``: ``F``/``F_latex`` of one triplet (scalar form; for vectors the squares are squared
  norms), ``dL_dF`` as sympy derives it, ``sympy_heaviside_at_zero``, ``regimes`` (one entry
  per regime "F < 0", "F = 0", "F > 0": ``dL_dF``, ``differentiable``, ``gradients`` or the
  measured one-sided derivatives), ``kink_point`` (embeddings and alpha with F = 0 exactly)
  and ``subgradients`` (per torch operator: ``call``, measured ``dL_dF_at_zero`` and the
  ``gradients_at_kink_point`` it produces).
- ``q3``: ``{"f_a" | "f_p" | "f_n": {"text": <expr>, "latex": ...}}`` for F > 0.
- ``q4``: ``used`` triplets, ``used_count``, ``used_distinct``, ``used_all_valid``,
  ``total_valid`` (all ordered valid triplets the classes admit), ``counting`` (how that
  number arises), ``valid_class_patterns`` and ``published_count``.
- ``q5``: ``{"L1": {"f1": <expr>, …, "f6": <expr>}, …, "L8": {…}}`` (each triplet active).
- ``q5_latex``: the same shape, LaTeX.
- ``q6``: ``{"f1": <expr>, …, "f6": <expr>}`` for L = sum of all L^i, all active.
- ``q6_latex``: the same shape, LaTeX.
- ``published``: one entry per published formula (Q3, Q5, Q6): ``question`` ("Q5.6"),
  ``target`` ("dL6/df5"), ``expected`` (published text), ``derived``, ``agrees``,
  ``difference`` (published minus derived, expanded), ``latex_expected`` (in the published
  term order), ``latex_derived``.
- ``kink``: ``left_derivative`` and ``right_derivative`` of max(0, F) at F = 0 as measured
  (difference quotients at the smallest step), ``differentiable``, ``steps`` and the
  ``left_quotients`` / ``right_quotients`` at each step.
- ``numeric``: ``dtype``, ``seed``, ``points`` per check, ``dims`` ("scalar" or a vector
  size), ``finite_difference_step``, ``tolerances`` (per method), ``min_active_F`` and
  ``max_inactive_F`` over the sampled points, ``checks`` (``target`` q3/q5/q6/"q2 F<0",
  ``method`` autograd/finite_difference, ``dim``, ``points``, ``max_abs_error``, ``worst``
  gradient, ``passed``), ``gradcheck`` (``target``, ``dim``, ``passed``) and ``passed``.
- ``summary``: ``published_checked``, ``published_agreeing``, ``disagreements`` (question,
  target, expected, derived), ``numeric_checks``, ``numeric_checks_passed``.
- ``all_numeric_checks_passed``: true when every numeric check and gradcheck passed.
"""

from __future__ import annotations

import functools
import itertools
import keyword
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp
import torch
import yaml
from sympy.parsing.sympy_parser import parse_expr

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
    dL_dF: sp.Expr
    q3: Mapping[str, sp.Expr]
    q3_inactive: Mapping[str, sp.Expr]
    triplet_F: Mapping[str, sp.Expr]
    q5: Mapping[str, Mapping[str, sp.Expr]]
    q6: Mapping[str, sp.Expr]


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
    published = _published(top["published"], names, [t.name for t in triplets])
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


def _published(value: Any, names: Sequence[str], losses: Sequence[str]) -> Published:
    top = _mapping(value, "published", {"source", "q3", "q4_count", "q5", "q6"})
    q3 = _formulas(top["q3"], "published.q3", GENERIC, GENERIC)
    q5_raw = _mapping(top["q5"], "published.q5", set(losses))
    q5 = {loss: _formulas(q5_raw[loss], f"published.q5.{loss}", names, names) for loss in losses}
    q6 = _formulas(top["q6"], "published.q6", names, names)
    count = top["q4_count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise UserError(f"published.q4_count: expected a whole number, got {count!r}")
    return Published(source=str(top["source"]), q3=q3, q4_count=count, q5=q5, q6=q6)


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
    return Derivation(
        F=F,
        dL_dF=sp.diff(sp.Max(0, F_symbol), F_symbol),
        q3=q3,
        q3_inactive=q3_inactive,
        triplet_F=per_triplet,
        q5=q5,
        q6=q6,
    )


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
        "checks": checks,
        "gradcheck": gradchecks,
        "passed": passed,
    }


# ------------------------------------------------------------------------------- the kink


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


def q4_summary(problem: Problem) -> dict[str, Any]:
    """The triplets Q5 uses, and how they relate to all valid triplets of the classes."""
    valid = valid_triplets(problem.classes)
    valid_set = set(valid)
    used = [t.members for t in problem.triplets]
    sizes = [len(group) for group in problem.classes]
    n = sum(sizes)
    counting = " + ".join(f"{s}*{s - 1}*{n - s}" for s in sizes) + f" = {len(valid)}"
    class_of = {name: i + 1 for i, group in enumerate(problem.classes) for name in group}
    patterns = sorted({tuple(class_of[m] for m in members) for members in valid})
    return {
        "used": [{"name": t.name, "anchor": t.anchor, "positive": t.positive, "negative": t.negative} for t in problem.triplets],
        "used_count": len(used),
        "used_distinct": len(set(used)) == len(used),
        "used_all_valid": all(u in valid_set for u in used),
        "total_valid": len(valid),
        "counting": counting,
        "valid_class_patterns": [list(p) for p in patterns],
        "published_count": problem.published.q4_count,
    }


# --------------------------------------------------------------------------- the document


def verify(
    problem: Problem,
    *,
    seed: int = SEED,
    points: int = POINTS,
    dims: Sequence[int | None] = DIMS,
) -> dict[str, Any]:
    """Derive, check numerically and judge the published answers: the JSON document."""
    derivation = derive(problem)
    names = problem.embeddings
    numeric = numeric_checks(problem, derivation, seed=seed, points=points, dims=dims)
    published = check_published(problem, derivation)
    kink = measure_kink()
    disagreements = [{key: entry[key] for key in ("question", "target", "expected", "derived")} for entry in published if not entry["agrees"]]
    all_checks = numeric["checks"] + numeric["gradcheck"]
    return {
        "problem": {
            "classes": [list(group) for group in problem.classes],
            "margin": problem.margin,
            "source": problem.published.source,
            "triplets": [
                {
                    "name": t.name,
                    "anchor": t.anchor,
                    "positive": t.positive,
                    "negative": t.negative,
                    "F": str(derivation.triplet_F[t.name]),
                }
                for t in problem.triplets
            ],
        },
        "q2": {
            "F": str(derivation.F),
            "F_latex": sp.latex(derivation.F),
            "dL_dF": str(derivation.dL_dF),
            "sympy_heaviside_at_zero": str(sp.Heaviside(0)),
            "regimes": [
                {
                    "regime": "F < 0",
                    "dL_dF": "0",
                    "differentiable": True,
                    "gradients": {n: to_text(derivation.q3_inactive[n], GENERIC) for n in GENERIC},
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
        "published": published,
        "kink": kink,
        "numeric": numeric,
        "summary": {
            "published_checked": len(published),
            "published_agreeing": sum(entry["agrees"] for entry in published),
            "disagreements": disagreements,
            "numeric_checks": len(all_checks),
            "numeric_checks_passed": sum(c["passed"] for c in all_checks),
        },
        "all_numeric_checks_passed": numeric["passed"],
    }


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
