"""Q2's kink: max(0, F) at F = 0, argued analytically with sympy and measured with torch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp
import torch

from imdb_rnn.triplet.numeric import GENERIC_INDEX, triplet_F_values
from imdb_rnn.triplet.problem import GENERIC

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
