"""Text for the report: LaTeX escaping, the number formats, and the light markup of the sections.

    from imdb_rnn.report.fmt import TexRaw, tex_escape, percent, sci
    tex_escape("biRNN_2 50%")   # "biRNN\\_2 50\\%"
    sci(92016.7)                # "9.2 × 10⁴"

In the ``.tex`` every value from data is escaped unless it is a :class:`TexRaw` (LaTeX source,
verbatim blocks), so an id like ``biRNN_2`` or a title with ``%`` cannot break the document.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any


class TexRaw(str):
    """Text the ``.tex`` renderer emits unchanged: LaTeX source, or a verbatim block's body.

    Any other string from the context is escaped there; Markdown shows both as they are.
    """


_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # not special in running text, but a table row's first cell after "\\" that starts with "["
    # would be read as the row's optional spacing: braced, they are only brackets
    "[": r"{[}",
    "]": r"{]}",
}
_TEX_PATTERN = re.compile("|".join(re.escape(c) for c in _TEX_SPECIALS))


def tex_escape(text: str) -> str:
    """``text`` as LaTeX that prints it literally (the ten characters LaTeX treats specially)."""
    return _TEX_PATTERN.sub(lambda m: _TEX_SPECIALS[m.group()], text)


def tex_finalize(value: Any) -> Any:
    if isinstance(value, TexRaw):
        return value
    if isinstance(value, str):
        return tex_escape(value)
    return value


def count(n: int) -> str:
    return f"{n:,}"


MINUS = "\u2212"  # a typeset minus sign, not a hyphen (the LaTeX preamble maps it)


def percent(fraction: float) -> str:
    """A fraction as percent with two decimals: 0.88544 -> "88.54" (a negative one with a minus sign)."""
    return f"{100 * fraction:.2f}".replace("-", MINUS)


def points(fraction: float) -> str:
    """A difference of fractions as signed percentage points: 0.0156 -> "+1.56"."""
    return f"{100 * fraction:+.2f}".replace("-", MINUS)


def interval_text(pair: tuple[float, float] | None) -> str:
    """An interval of fractions in percent, "[87.10, 89.90]"; "–" where none was computed."""
    return "–" if pair is None else f"[{percent(pair[0])}, {percent(pair[1])}]"


def seconds_text(s: float) -> str:
    return f"{s:,.1f} s"


def number_text(x: float) -> str:
    """A measured float as the shortest text that reads back exactly (0, 1, 0.5, 1e-09)."""
    return f"{x + 0.0:g}"


def join_and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` significant figures, as ``d.d × 10ⁿ`` past 10³ or below 10⁻²
    (Unicode superscripts: the LaTeX preamble maps them); ∞ stays ∞."""
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"
    if value < 0:
        return MINUS + sci(-value, digits)
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    power = int(exponent)
    if -2 <= power < 3:
        return f"{value:.{max(0, digits - 1 - power)}f}"
    return f"{mantissa} × 10{str(power).translate(SUPERSCRIPTS)}"


# ---------------------------------------------------------------------------- shared prose
# A section's template is written once, in a light markup (imdb_rnn.report.document):
# **bold**, *emphasis*, `code`, $math$ (LaTeX, left as is in both formats). Markdown shows it as
# written; LaTeX gets it converted. Values interpolated into it arrive wrapped in VALUE_OPEN /
# VALUE_CLOSE, so in the LaTeX a title with a $ or a * in it is printed, never read as markup.
# (Markdown shows values as they are, as it shows a title anywhere else in report.md.)
VALUE_OPEN, VALUE_CLOSE = "\ue000", "\ue001"
_VALUE = f"{VALUE_OPEN}[^{VALUE_CLOSE}]*{VALUE_CLOSE}"
_PROSE_TOKEN = re.compile(
    rf"(?P<value>{_VALUE})"
    rf"|(?P<math>\$(?:[^$\n{VALUE_OPEN}]|{_VALUE})+\$)"
    rf"|\*\*(?P<bold>(?:[^*{VALUE_OPEN}]|{_VALUE})+)\*\*"
    rf"|(?<![\w*])\*(?P<emph>(?:[^*\s{VALUE_OPEN}]|{_VALUE})(?:[^*{VALUE_OPEN}]|{_VALUE})*)\*"
    rf"|`(?P<code>(?:[^`{VALUE_OPEN}]|{_VALUE})+)`"
)


class Markup(str):
    """Light markup (or a directive line) that code wrote for a template: printed unfenced."""


def mark_value(value: Any) -> str:
    """What a template's ``{{ value }}`` prints: the value, fenced as data (a :class:`Markup` as it is)."""
    if isinstance(value, Markup):
        return value
    return f"{VALUE_OPEN}{value}{VALUE_CLOSE}"


def _unfence(text: str) -> str:
    return text.replace(VALUE_OPEN, "").replace(VALUE_CLOSE, "")


def prose_markdown(text: str) -> str:
    """Shared prose as Markdown: the markup is Markdown already."""
    return _unfence(text)


def prose_latex(text: str) -> TexRaw:
    """Shared prose as LaTeX: markup converted, everything else escaped, math left as written."""
    out, position = [], 0
    for match in _PROSE_TOKEN.finditer(text):
        out.append(tex_escape(text[position : match.start()]))
        position = match.end()
        kind = match.lastgroup
        inner = match.group(kind)
        if kind == "value":
            out.append(tex_escape(_unfence(inner)))
        elif kind == "math":
            out.append(_unfence(inner))
        else:
            command = {"bold": r"\textbf", "emph": r"\emph", "code": r"\texttt"}[kind]
            out.append(f"{command}{{{prose_latex(inner)}}}")
    out.append(tex_escape(text[position:]))
    return TexRaw("".join(out))


def code(value: Any) -> Markup:
    """A value from a file the report does not control (an experiment's params), as a code span
    of the light markup: Markdown prints a code span's text literally, HTML and link syntax
    included, and LaTeX gets it escaped. A backtick in the value would close the span early, so
    it prints as a quote."""
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return Markup("`" + mark_value(text.replace("`", "'").replace("\n", " ")) + "`")
