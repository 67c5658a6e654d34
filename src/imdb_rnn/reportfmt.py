"""Text for the report: LaTeX escaping and the number formats both templates print.

    from imdb_rnn.reportfmt import TexRaw, tex_escape, percent, sci
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


def percent(fraction: float) -> str:
    return f"{100 * fraction:.2f}"


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
    if math.isinf(value):
        return "∞"
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    power = int(exponent)
    if -2 <= power < 3:
        return f"{value:.{max(0, digits - 1 - power)}f}"
    return f"{mantissa} × 10{str(power).translate(SUPERSCRIPTS)}"
