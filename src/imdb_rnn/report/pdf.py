"""Stage ``pdf``: the report as a PDF — typeset by LaTeX where it is installed, else plain.

    from imdb_rnn.report.pdf import build_pdf
    path, typeset = build_pdf("report/report.tex", "report/report.pdf", markdown="report/report.md")

With latexmk and pdflatex the LaTeX report is compiled in a temporary folder and moved into
place atomically; on a LaTeX error its log is copied beside the PDF and named in the error.
Without them the PDF holds ``report.md`` set as plain text, its figures on pages of their
own, under a first line that says so; the stage prints how to install LaTeX. Either way the
stage succeeds, so Snakemake and DVC behave alike on a machine without LaTeX (a DVC
experiment is recorded), and ``report/report.pdf`` always belongs to this run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

from imdb_rnn.errors import UserError
from imdb_rnn.fileio import atomic_path

LATEX_PACKAGES = "texlive-latex-base texlive-latex-recommended lmodern latexmk"
LATEX_MISSING = (
    f"note: latexmk/pdflatex not found, so {{pdf}} holds report.md as plain text, not the typeset report; "
    f"for that, install {LATEX_PACKAGES} (Debian/Ubuntu, --no-install-recommends is enough) and rerun this stage"
)
LATEX_TIMEOUT_S = 300
PLAIN_BANNER = (
    "Set as plain text: LaTeX was not installed where this PDF was built. What you miss here: the formulas of Part 2 "
    "appear as LaTeX source ($$...$$), the tables as Markdown, and the figures each on a page of their own. The typeset "
    f"report is report.tex; to build it as a PDF, install {LATEX_PACKAGES} and rerun the pdf stage."
)
# A4 in inches, and a monospace text block that fits it at 7.5 pt.
_PAGE = (8.27, 11.69)
_COLUMNS, _LINES = 100, 84
_FIGURE_LINE = re.compile(r"^!\[(?P<caption>[^\]]*)\]\((?P<path>[^)]+\.png)\)\s*$")


def has_latex() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def _first_error(log: Path) -> str:
    """The first ``!`` line (or file:line:error line) of a LaTeX log, for the one-line message."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("!") or re.match(r"^[^:\s]+\.\w+:\d+: ", line):
            return line.strip()
    return "see the log"


def typeset(tex: Path, out: Path) -> Path:
    """Compile ``tex`` with latexmk (pdflatex) and move the PDF to ``out`` atomically."""
    with tempfile.TemporaryDirectory(prefix="latexmk-") as build:
        command = [
            "latexmk", "-pdf", "-norc", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
            f"-outdir={build}", tex.name,
        ]  # fmt: skip
        try:
            # Run beside the .tex so its relative figure paths resolve; -norc ignores user rc files.
            done = subprocess.run(
                command, cwd=tex.parent, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=LATEX_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise UserError(f"latexmk ran over {LATEX_TIMEOUT_S} s on {tex}; run it by hand to see where it stops") from None
        built = Path(build) / f"{tex.stem}.pdf"
        log = Path(build) / f"{tex.stem}.log"
        if done.returncode != 0 or not built.is_file():
            if not log.is_file():
                last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
                raise UserError(f"latexmk failed on {tex} before LaTeX wrote a log: {last}")
            kept = out.with_suffix(".log")
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, kept)
            raise UserError(f"LaTeX failed on {tex}: {_first_error(log)}; see {kept}")
        with atomic_path(out, suffix=".pdf") as tmp:
            shutil.copyfile(built, tmp)
    return out


def plain(markdown: Path, out: Path) -> Path:
    """``markdown`` as monospace text pages, each PNG figure it shows on a page of its own."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    pages: list[list[str] | tuple[str, Path]] = [[*textwrap.wrap(PLAIN_BANNER, _COLUMNS), ""]]
    for line in markdown.read_text(encoding="utf-8").splitlines():
        figure = _FIGURE_LINE.match(line)
        if figure:
            pages.append((figure["caption"], markdown.parent / figure["path"]))
            pages.append([])
            continue
        for piece in textwrap.wrap(line, _COLUMNS, replace_whitespace=False, drop_whitespace=False) or [""]:
            if not isinstance(pages[-1], list) or len(pages[-1]) >= _LINES:
                pages.append([])
            pages[-1].append(piece)
    missing = [str(page[1]) for page in pages if isinstance(page, tuple) and not page[1].is_file()]
    if missing:
        raise UserError(f"{markdown} shows {missing[0]}, which is missing; rerun stage `report`")
    with atomic_path(out, suffix=".pdf") as tmp, matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(tmp) as document:
        for page in pages:
            if isinstance(page, list) and not page:
                continue
            sheet = Figure(figsize=_PAGE)
            if isinstance(page, list):
                sheet.text(0.06, 0.96, "\n".join(page), family="monospace", fontsize=7.5, va="top", ha="left", parse_math=False)
            else:
                caption, path = page
                axes = sheet.add_axes((0.06, 0.3, 0.88, 0.62))
                axes.imshow(imread(path))
                axes.set_axis_off()
                sheet.text(0.06, 0.26, caption, fontsize=9, va="top", ha="left", wrap=True, parse_math=False)
            document.savefig(sheet)
    return out


def build_pdf(tex: str | os.PathLike[str], out: str | os.PathLike[str], markdown: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The report's PDF at ``out``: (path, True) typeset from ``tex`` where LaTeX is installed,
    else (path, False) set plain from ``markdown`` (UserError without LaTeX and without it)."""
    tex, out = Path(tex), Path(out)
    latex = has_latex()
    if not latex and markdown is None:
        raise UserError(f"latexmk/pdflatex not found: install {LATEX_PACKAGES} to build {out}, or pass --markdown for a plain PDF")
    source = tex if latex else Path(markdown)
    if not source.is_file():
        raise UserError(f"missing {source}; run stage `report` first")
    return (typeset(tex, out), True) if latex else (plain(source, out), False)
