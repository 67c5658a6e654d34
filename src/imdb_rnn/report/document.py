"""One section text, two formats: the light markup a section template writes, as Markdown and LaTeX.

    from imdb_rnn.report.document import Table, Figure, to_markdown, to_latex
    md = to_markdown(text, tables, figures)      # text: a rendered section template
    tex = to_latex(text, tables, figures)

A section template (``src/imdb_rnn/report/sections/<name>.j2``) is written once. Rendered with its
context, it is a sequence of blocks separated by blank lines:

- a heading: ``## 3 Beyond the original``, ``### 3.1 Seeds`` (numbers come from the registry),
  ``#### 1) 2-level bi-LSTM`` (unnumbered);
- a paragraph in the light markup: ``**bold**``, ``*emphasis*``, ```code```, ``$math$``;
- a list: every line starting ``- `` (a longer item continues on lines indented by two spaces);
- a code block between ````` fences, printed verbatim;
- display maths between ``$$`` lines (LaTeX in both formats);
- a directive on a line of its own: ``::: table <name>``, ``::: figure <name>``,
  ``::: equations <name>`` (rows of aligned formulas), each naming an object of the section's
  context; ``::: md`` / ``::: tex`` … ``:::`` hold text for one format only.

Every value a template prints arrives fenced (:func:`imdb_rnn.report.fmt.mark_value`), so in
the LaTeX a title with a ``$`` or ``*`` in it is printed as written, never read as markup;
:class:`~imdb_rnn.report.fmt.TexRaw` values (formulas) go into both formats as they are.
Tables and figures are numbered by the registry, the same in both formats, and a table's note
is set inside its float, so it stays on the table's page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imdb_rnn.report.fmt import TexRaw, mark_value, prose_latex, prose_markdown


def data(value: Any) -> str:
    """``value`` fenced as data for a table cell built in code (escaped in LaTeX, never markup)."""
    return mark_value(value)


@dataclass
class Table:
    """A table of light-markup cells; ``align`` has one letter per column: ``l``, ``r``, ``c`` or
    ``X`` (left, wrapping to the text width in LaTeX)."""

    header: list[str]
    rows: list[list[str]]
    align: str
    caption: str
    note: str = ""
    # column groups over the header, as (title, number of columns); "" leaves columns ungrouped
    groups: list[tuple[str, int]] = field(default_factory=list)
    size: str = "small"
    number: int = 0

    def __post_init__(self) -> None:
        widths = {len(self.header), *(len(row) for row in self.rows)}
        if widths != {len(self.align)}:
            raise ValueError(f"table {self.caption[:40]!r}: {len(self.align)} columns in align, rows of {sorted(widths)}")


@dataclass(frozen=True)
class FigureSpec:
    """A figure a section declares (its ``FIGURES``): drawn to ``figures/<name>.png`` and ``.pdf``."""

    name: str
    caption: str  # what `snakemake --report` shows beside it
    category: str = "Part 3"


@dataclass
class Figure:
    """A figure the section draws: ``figures/<name>.png`` (Markdown) and ``.pdf`` (LaTeX)."""

    name: str
    caption: str
    number: int = 0


@dataclass
class Equation:
    """One row of aligned formulas: ``lhs = rhs``, then a mark and a note (LaTeX source)."""

    lhs: str
    rhs: str
    mark: str = ""
    note: str = ""


# ----------------------------------------------------------------------------- parsing

_DIRECTIVE = re.compile(r"^::: (table|figure|equations|md|tex)(?: ([a-z0-9_]+))?$")


@dataclass(frozen=True)
class Block:
    kind: str  # heading, paragraph, list, code, math, table, figure, equations, md, tex
    text: str = ""
    level: int = 0
    name: str = ""
    items: tuple[str, ...] = ()


def parse(text: str) -> list[Block]:
    """The blocks of a rendered section template (see the module docstring)."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            end = _closing(lines, i, "```")
            blocks.append(Block("code", "\n".join(lines[i + 1 : end])))
            i = end + 1
        elif line.strip() == "$$":
            end = _closing(lines, i, "$$")
            blocks.append(Block("math", "\n".join(lines[i + 1 : end]).strip()))
            i = end + 1
        elif match := _DIRECTIVE.match(line.strip()):
            kind, name = match.groups()
            if kind in ("md", "tex"):
                end = _closing(lines, i, ":::")
                blocks.append(Block(kind, "\n".join(lines[i + 1 : end])))
                i = end + 1
            else:
                blocks.append(Block(kind, name=name or ""))
                i += 1
        elif match := re.match(r"^(#{1,4}) (.*)$", line):
            blocks.append(Block("heading", match.group(2).strip(), level=len(match.group(1))))
            i += 1
        else:
            end = i
            while end < len(lines) and lines[end].strip() and not _starts_block(lines[end]):
                end += 1
            end = max(end, i + 1)
            chunk = lines[i:end]
            if chunk[0].startswith("- "):
                items: list[str] = []
                for item_line in chunk:
                    if item_line.startswith("- "):
                        items.append(item_line[2:].strip())
                    else:
                        items[-1] += " " + item_line.strip()
                blocks.append(Block("list", items=tuple(items)))
            else:
                blocks.append(Block("paragraph", " ".join(part.strip() for part in chunk)))
            i = end
    merged: list[Block] = []
    for block in blocks:  # items a template separates with blank lines are still one list
        if block.kind == "list" and merged and merged[-1].kind == "list":
            merged[-1] = Block("list", items=merged[-1].items + block.items)
        else:
            merged.append(block)
    return merged


def _starts_block(line: str) -> bool:
    return line.startswith(("```", "#")) or line.strip() == "$$" or bool(_DIRECTIVE.match(line.strip()))


def _closing(lines: list[str], start: int, fence: str) -> int:
    for j in range(start + 1, len(lines)):
        if lines[j].strip() == fence:
            return j
    raise ValueError(f"unclosed {fence!r} block starting with {lines[start]!r}")


# ---------------------------------------------------------------------------- Markdown


def _md_table(table: Table) -> str:
    align = {"l": "---", "X": "---", "c": ":-:", "r": "--:"}
    header = [prose_markdown(h).replace("\n", " ") for h in table.header]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align[a] for a in table.align) + "|"]
    lines += ["| " + " | ".join(prose_markdown(c) for c in row) + " |" for row in table.rows]
    out = "\n".join(lines) + f"\n\nTable {table.number}: {prose_markdown(table.caption)}"
    return out + (f"\n\n{prose_markdown(table.note)}" if table.note else "")


def _md_equation(e: Equation) -> str:
    mark = f" \\qquad {e.mark}" if e.mark else ""
    note = f"\\ \\ {e.note}" if e.note else ""
    return f"$${e.lhs} = {e.rhs}{mark}{note}$$"


def to_markdown(text: str, tables: Mapping[str, Table], figures: Mapping[str, Figure], equations: Mapping[str, list[Equation]]) -> str:
    """The section as Markdown."""
    out = []
    for block in parse(text):
        if block.kind == "heading":
            out.append("#" * block.level + " " + prose_markdown(block.text))
        elif block.kind == "paragraph":
            out.append(prose_markdown(block.text))
        elif block.kind == "list":
            out.append("\n".join(f"- {prose_markdown(item)}" for item in block.items))
        elif block.kind == "code":
            out.append(f"```\n{prose_markdown(block.text)}\n```")
        elif block.kind == "math":
            out.append(f"$${prose_markdown(block.text)}$$")
        elif block.kind == "table":
            out.append(_md_table(tables[block.name]))
        elif block.kind == "figure":
            figure = figures[block.name]
            out.append(f"![Figure {figure.number}](figures/{figure.name}.png)\n\nFigure {figure.number}: {prose_markdown(figure.caption)}")
        elif block.kind == "equations":
            rows = equations[block.name]
            out.append(
                "\n\n".join(
                    f"$${e.lhs} = {e.rhs}" + (f" \\qquad {e.mark}" if e.mark else "") + (f"\\ \\ {e.note}" if e.note else "") + "$$" for e in rows
                )
            )
        elif block.kind == "md":
            out.append(prose_markdown(block.text))
    return "\n\n".join(out) + "\n"


# ------------------------------------------------------------------------------- LaTeX

_TEX_HEADINGS = {2: r"\section*", 3: r"\subsection*", 4: r"\subsubsection*"}


def _tex_table(table: Table) -> str:
    wide = "X" in table.align
    spec = "@{}" + "".join(r">{\raggedright\arraybackslash}X" if a == "X" else a for a in table.align) + "@{}"
    begin = rf"\begin{{tabularx}}{{\linewidth}}{{{spec}}}" if wide else rf"\begin{{tabular}}{{{spec}}}"
    end = r"\end{tabularx}" if wide else r"\end{tabular}"
    lines = [r"\begin{table}[H]", r"\centering", "\\" + table.size, begin, r"\toprule"]
    if table.groups:
        cells, rules, column = [], [], 1
        for title, span in table.groups:
            cells.append(rf"\multicolumn{{{span}}}{{c}}{{{prose_latex(title)}}}" if title else " & ".join([""] * span) if span > 1 else "")
            if title:
                rules.append(rf"\cmidrule(lr){{{column}-{column + span - 1}}}")
            column += span
        lines += [" & ".join(cells) + r" \\", "".join(rules)]
    lines.append(" & ".join(_tex_header(h, a) for h, a in zip(table.header, table.align, strict=True)) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(prose_latex(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", end, rf"\setcounter{{table}}{{{table.number - 1}}}", rf"\caption{{{prose_latex(table.caption)}}}"]
    if table.note:
        lines.append(rf"\par\smallskip{{\footnotesize {prose_latex(table.note)}\par}}")
    lines.append(r"\end{table}")
    return "\n".join(lines)


def _tex_header(text: str, align: str) -> str:
    """A header cell; a line break in it stacks its lines, aligned as the column."""
    if "\n" not in text:
        return prose_latex(text)
    lines = r" \\ ".join(prose_latex(line) for line in text.split("\n"))
    return rf"\shortstack[{ {'r': 'r', 'c': 'c'}.get(align, 'l') }]{{{lines}}}"


def _tex_figure(figure: Figure) -> str:
    return "\n".join(
        [
            r"\begin{figure}[H]",
            r"\centering",
            rf"\includegraphics[width=\textwidth]{{figures/{figure.name}.pdf}}",
            rf"\setcounter{{figure}}{{{figure.number - 1}}}",
            rf"\caption{{{prose_latex(figure.caption)}}}",
            r"\end{figure}",
        ]
    )


def _tex_equations(rows: list[Equation]) -> str:
    body = " \\\\\n".join(f"  {e.lhs} &= {e.rhs} &\\qquad& {e.mark} &\\quad& {e.note}" for e in rows)
    return "\\begin{alignat*}{3}\n" + body + "\n\\end{alignat*}"


def _unfenced_raw(text: str) -> str:
    """Maths and format-only text: values in it are printed as they are (formulas are LaTeX)."""
    return prose_markdown(text)


def to_latex(text: str, tables: Mapping[str, Table], figures: Mapping[str, Figure], equations: Mapping[str, list[Equation]]) -> str:
    """The section as LaTeX (the preamble is the report's, see imdb_rnn.report.build)."""
    out = []
    render: dict[str, Callable[[Block], str]] = {
        "heading": lambda b: rf"{_TEX_HEADINGS[b.level]}{{{prose_latex(b.text)}}}",
        "paragraph": lambda b: prose_latex(b.text),
        "list": lambda b: "\\begin{itemize}\n" + "\n".join(rf"  \item {prose_latex(item)}" for item in b.items) + "\n\\end{itemize}",
        "code": lambda b: "\\begin{minipage}{\\linewidth}\n\\begin{lstlisting}\n" + prose_markdown(b.text) + "\n\\end{lstlisting}\n\\end{minipage}",
        "math": lambda b: rf"\[ {_unfenced_raw(b.text)} \]",
        "table": lambda b: _tex_table(tables[b.name]),
        "figure": lambda b: _tex_figure(figures[b.name]),
        "equations": lambda b: _tex_equations(equations[b.name]),
        "tex": lambda b: _unfenced_raw(b.text),
        "md": lambda b: "",
    }
    for block in parse(text):
        rendered = render[block.kind](block)
        if rendered:
            out.append(rendered)
    return TexRaw("\n\n".join(out) + "\n")
