"""The schema of the verification document (``results/triplet/verification.json``).

The document is a JSON object with these keys; the TypedDict :class:`VerificationDoc` is its
schema, key by key, and a test validates a document against it. Every ``<expr>`` is plain
text that ``sympy.sympify`` parses in the symbols f1 … f6 (or f_a, f_p, f_n for Q3), e.g.
``"f5 - f2"`` or ``"0"``; every ``*_latex`` value is the same expression as LaTeX, e.g.
``"f_{5} - f_{2}"``. The report prints these LaTeX forms as they are: it derives and parses
nothing.

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

import pydantic
from typing_extensions import NotRequired, TypedDict

# The JSON document :func:`~imdb_rnn.triplet.document.verify` returns, key by key.
# tests/test_triplet.py validates a document against it with pydantic (every key present, no
# key unknown, every value typed).

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
