"""Stage ``pdf``: the report as a PDF, typeset by LaTeX where installed, else set plain.

    python workflow/scripts/pdf.py --tex report/report.tex --markdown report/report.md --out report/report.pdf

With latexmk and pdflatex (Debian/Ubuntu: ``apt-get install --no-install-recommends
texlive-latex-base texlive-latex-recommended lmodern latexmk``) it compiles the LaTeX report in
a temporary folder and moves the PDF into place atomically; on a LaTeX error the log is
copied beside ``--out`` (report/report.log) and named in the one-line error. Without them it
writes report.md as plain text pages (a first line says so), prints how to install LaTeX,
and succeeds, so the pipeline and a DVC experiment finish on any machine. See imdb_rnn.report.pdf.
"""

from __future__ import annotations

import argparse
import sys

from imdb_rnn.errors import run_cli
from imdb_rnn.report.pdf import LATEX_MISSING, build_pdf


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tex", required=True, help="the LaTeX report (e.g. report/report.tex); its figures are found relative to it")
    parser.add_argument("--markdown", help="the Markdown report, set plain when LaTeX is missing (e.g. report/report.md)")
    parser.add_argument("--out", required=True, help="where the PDF goes (e.g. report/report.pdf)")
    args = parser.parse_args(argv)
    path, typeset = build_pdf(args.tex, args.out, markdown=args.markdown)
    if not typeset:
        print(LATEX_MISSING.format(pdf=path), file=sys.stderr)
    print(f"pdf: wrote {path}" + ("" if typeset else " (plain text: LaTeX is not installed)"))


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
