"""The Part 2 problem, read from ``problem.yaml`` beside it and validated.

The file holds the embedding classes, the margin symbol, the triplets L^i and the original
report's published answers (plain text that sympy parses). Every defect is a one-line
:class:`~imdb_rnn.errors.UserError` naming the key at fault.
"""

from __future__ import annotations

import keyword
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp
import yaml
from sympy.parsing.sympy_parser import parse_expr

from imdb_rnn.errors import UserError

# The problem file stays beside the package's modules: src/imdb_rnn/triplet/problem.yaml.
DEFAULT_PROBLEM = Path(__file__).with_name("problem.yaml")

ROLES = ("anchor", "positive", "negative")
# Q3 is stated for one generic triplet; these are its symbols, in ROLES order.
GENERIC = ("f_a", "f_p", "f_n")


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


def load_problem(path: str | os.PathLike[str] = DEFAULT_PROBLEM) -> Problem:
    """Read and validate a problem file; any defect is a one-line :class:`UserError`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"problem file {path} not found; pass --problem src/imdb_rnn/triplet/problem.yaml") from exc
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
