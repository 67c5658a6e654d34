"""Stage ``pdf``: compile the LaTeX report with latexmk (pdflatex).

    python workflow/scripts/pdf.py --tex report/report.tex --out report/report.pdf

Needs latexmk and pdflatex (Debian/Ubuntu: ``apt-get install texlive-latex-base
texlive-latex-recommended latexmk``); without them it exits 2 with one line saying so, and
report.md and report.tex stay as the report stage wrote them. The build runs in a temporary
folder; the PDF is moved into place atomically. On a LaTeX error the log is copied beside
``--out`` (report/report.log) and named in the one-line error.
"""

from __future__ import annotations

import argparse

from imdb_rnn.errors import run_cli
from imdb_rnn.report import build_pdf


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tex", required=True, help="the LaTeX report (e.g. report/report.tex); its figures are found relative to it")
    parser.add_argument("--out", required=True, help="where the PDF goes (e.g. report/report.pdf)")
    args = parser.parse_args(argv)
    print(f"pdf: wrote {build_pdf(args.tex, args.out)}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
