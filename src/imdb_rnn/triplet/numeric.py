"""The derived gradients checked in float64 against torch autograd, central finite
differences and ``torch.autograd.gradcheck``.

Checks run at random points, for scalar embeddings and for vectors of several sizes (where
the formulas hold component by component); gradcheck runs on an autograd Function whose
backward *is* the derived formulas. The general Q6 is checked where some triplets are active
and some not.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
import torch

from imdb_rnn.triplet.problem import GENERIC, Problem
from imdb_rnn.triplet.symbolic import Derivation

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
# The general Q6 is checked where some triplets are active and some not, none this near F = 0.
MIXED_MIN_F = 0.05


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
    main = q5_q6_case(problem, derivation)
    checks, gradchecks, active_F, inactive_F = _regime_checks(problem, derivation, main, gen, points, dims)
    # The general Q6 (any mix of active and inactive triplets), after the others so that
    # their random points do not depend on it.
    general, mixed_F = _general_checks(problem, derivation, main, gen, points, dims)
    checks += general
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


def _check_entry(target: str, method: str, dim: int | None, points: int, tally: _Tally) -> dict[str, Any]:
    """One row of the document's ``numeric.checks``."""
    return {
        "target": target,
        "method": method,
        "dim": _dim_label(dim),
        "points": points,
        "max_abs_error": tally.error,
        "worst": tally.worst,
        "passed": tally.passed,
    }


def _regime_checks(
    problem: Problem,
    derivation: Derivation,
    main: GradientCase,
    gen: torch.Generator,
    points: int,
    dims: Sequence[int | None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[float], list[float]]:
    """Q3, Q5 and Q6 where every triplet is active and Q2's F < 0 formulas, per embedding
    shape, then gradcheck of Q3 and Q5+Q6: (checks, gradchecks, active F, inactive F)."""
    k = len(problem.triplets)
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
                checks.append(_check_entry(target, method, dim, points, tally))
        for target, case in (("q3", generic), ("q5+q6", main)):
            emb, alpha = active_point(case, dim, gen)
            gradchecks.append({"target": target, "dim": _dim_label(dim), "passed": derived_gradcheck(case, emb, alpha)})
    return checks, gradchecks, active_F, inactive_F


def _general_checks(
    problem: Problem,
    derivation: Derivation,
    main: GradientCase,
    gen: torch.Generator,
    points: int,
    dims: Sequence[int | None],
) -> tuple[list[dict[str, Any]], list[float]]:
    """The general Q6 at points where some triplets are active and some not, per embedding
    shape: (checks, |F| nearest the kink at each point)."""
    checks: list[dict[str, Any]] = []
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
        checks += [_check_entry("q6 general", method, dim, points, tally) for method, tally in tallies.items()]
    return checks, mixed_F
