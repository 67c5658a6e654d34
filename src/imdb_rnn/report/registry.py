"""The files the report stage writes, from one registry: the templates, Snakemake's ``report()``
outputs, dvc.yaml's report outs and the pdf stage's inputs all read it.

    from imdb_rnn.report.registry import report_files, shown, pdf_inputs
    report_files()   # ["report.md", "report.tex", "params.yaml", "figures/…png", …] (under report/)
    shown()          # the figures and tables `snakemake --report` shows, with their captions
    pdf_inputs()     # what the pdf stage reads: the two renderings and every figure

Paths are relative to the report folder (``report/``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Artifact:
    """A figure or table the report stage writes, as Snakemake's HTML report shows it."""

    path: str  # relative to the report folder
    caption: str
    category: str
    subcategory: str


RENDERINGS = ("report.md", "report.tex")
PARAMS_COPY = "params.yaml"  # the params the report was rendered with (its hash is printed)
FIGURES = (
    Artifact(
        "figures/learning_curves.png",
        "Loss and accuracy per epoch on the training and validation splits, every architecture, mean over the seeds.",
        "Part 1",
        "Figures",
    ),
    Artifact(
        "figures/gradient_flow.png",
        "Mean gradient norm of the loss with respect to the embedding at each review position (log scale), "
        "trained and at initialisation.",
        "Part 1",
        "Figures",
    ),
    Artifact(
        "figures/accuracy_by_length.png",
        "Test accuracy by review length (quartiles of the test reviews), mean over the seeds, per architecture.",
        "Part 1",
        "Figures",
    ),
)
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


def figure_files() -> list[str]:
    """Every figure file, each figure in both formats."""
    return [figure.path.removesuffix(".png") + suffix for figure in FIGURES for suffix in FIGURE_FORMATS]


def report_files() -> list[str]:
    """Every file the report stage writes, relative to the report folder."""
    return [*RENDERINGS, *figure_files(), PARAMS_COPY, *(table.path for table in TABLES)]


def shown() -> list[Artifact]:
    """The figures (PNG) and tables that ``snakemake --report`` shows, with their captions."""
    return [*FIGURES, *TABLES]


def pdf_inputs() -> list[str]:
    """What the pdf stage reads: both renderings (LaTeX, else the Markdown as plain text) and every figure."""
    return [*RENDERINGS, *figure_files()]
