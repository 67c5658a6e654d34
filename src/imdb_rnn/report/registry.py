"""The report's sections in order, and everything derived from them: one registry that the
renderer, Snakemake's ``report()`` outputs, dvc.yaml's report outs and the pdf stage's inputs read.

    from imdb_rnn.report.registry import SECTIONS, report_files, shown, pdf_inputs
    report_files()   # ["report.md", "report.tex", "params.yaml", "figures/…png", …] (under report/)
    shown()          # the figures and tables `snakemake --report` shows, with their captions
    pdf_inputs()     # what the pdf stage reads: the two renderings and every figure

A section is one module of :mod:`imdb_rnn.report.sections` with its template beside it
(``<name>.j2``). The module says:

- ``TITLE`` and ``LEVEL``: 2 for a part (``## 3 Beyond the original``), 3 for a numbered
  subsection of the part before it (``### 3.1 …``), 0 for an unnumbered closing block;
- ``FIGURES``: the figures it draws, each a :class:`~imdb_rnn.report.document.FigureSpec` (file name, the caption
  Snakemake's HTML report shows) — drawn by the module's ``draw(data, name, targets)``;
- ``context(data)``: what its template prints (None leaves the section out), with the
  ``tables``, ``figures`` and ``equations`` its template places by name.

Adding a section with one figure: its module, its template, one line in :data:`SECTIONS`, a
test; ``make generated`` then rewrites dvc.yaml and the captions.

Paths are relative to the report folder (``report/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from imdb_rnn.report.document import FigureSpec
from imdb_rnn.report.sections import (
    appendix,
    beyond,
    curves,
    discussion,
    gap,
    gradient_flow,
    length,
    part1,
    part2,
    provenance,
    seeds,
)


@dataclass(frozen=True)
class Artifact:
    """A figure or table the report stage writes, as Snakemake's HTML report shows it."""

    path: str  # relative to the report folder
    caption: str
    category: str
    subcategory: str


SECTIONS: tuple[ModuleType, ...] = (part1, part2, beyond, seeds, curves, gradient_flow, length, gap, discussion, appendix, provenance)

RENDERINGS = ("report.md", "report.tex")
PARAMS_COPY = "params.yaml"  # the params the report was rendered with (its hash is printed)
TABLES = (
    Artifact(
        "tables/table1.html",
        "Table 1: recurrent-layer parameter counts and test accuracy (mean and sample standard deviation over the seeds) "
        "beside the original report's.",
        "Part 1",
        "Tables",
    ),
    Artifact(
        "tables/part2_checks.html",
        "Part 2: how many numeric checks of the derived triplet-loss gradients passed, and how many of the original's "
        "published answers agree with the derivation.",
        "Part 2",
        "Tables",
    ),
)
# every figure is drawn twice: PNG for Markdown and HTML, PDF (vector) for LaTeX
FIGURE_FORMATS = (".png", ".pdf")


def figures() -> list[FigureSpec]:
    """Every figure of every section, in report order."""
    return [spec for section in SECTIONS for spec in getattr(section, "FIGURES", ())]


def figure_files() -> list[str]:
    """Every figure file, each figure in both formats."""
    return [f"figures/{spec.name}{suffix}" for spec in figures() for suffix in FIGURE_FORMATS]


def report_files() -> list[str]:
    """Every file the report stage writes, relative to the report folder."""
    return [*RENDERINGS, *figure_files(), PARAMS_COPY, *(table.path for table in TABLES)]


def shown() -> list[Artifact]:
    """The figures (PNG) and tables that ``snakemake --report`` shows, with their captions."""
    return [Artifact(f"figures/{spec.name}.png", spec.caption, spec.category, "Figures") for spec in figures()] + list(TABLES)


def pdf_inputs() -> list[str]:
    """What the pdf stage reads: both renderings (LaTeX, else the Markdown as plain text) and every figure."""
    return [*RENDERINGS, *figure_files()]
