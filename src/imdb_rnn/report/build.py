"""Stage ``report``: the assignment report, regenerated from the results files.

    python workflow/scripts/report.py --params params.yaml --summary results/summary.json \\
        --metrics results/metrics --history results/history --models results/models \\
        --data-stats results/data/stats.json --embedding-stats results/embedding/stats.json \\
        --triplet results/triplet/verification.json --diagnostics results/diagnostics \\
        --runs results/runs --experiments results/experiments --out report

:func:`write_report` reads every input once (:mod:`imdb_rnn.report.inputs`), asks each section
of :data:`imdb_rnn.report.registry.SECTIONS` for its context, numbers sections, tables and
figures in report order (the same numbers in both formats), renders each section's template
once and converts it to Markdown and LaTeX (:mod:`imdb_rnn.report.document`), draws the
figures, and writes ``report.md``, ``report.tex``, the figures, two HTML tables for
Snakemake's report and the params it was rendered with. The PDF is the separate stage ``pdf``
(:mod:`imdb_rnn.report.pdf`).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2

from imdb_rnn.fileio import write_bytes, write_text
from imdb_rnn.report.document import to_latex, to_markdown
from imdb_rnn.report.fmt import TexRaw, tex_escape
from imdb_rnn.report.inputs import ReportData, ReportInputs, load_report_data
from imdb_rnn.report.registry import FIGURE_FORMATS, PARAMS_COPY, SECTIONS, TABLES

SECTIONS_FOLDER = Path(__file__).with_name("sections")
TEMPLATES = Path(__file__).with_name("templates")
RESOURCES = ("templates/preamble.tex",)  # read at run time (pipeline.codedeps)


@dataclass(frozen=True)
class Refs:
    """What a template may cite: ``ref.table.pairs`` is "Table 3", ``ref.section.seeds`` "Section 3.1"."""

    table: Mapping[str, str]
    figure: Mapping[str, str]
    section: Mapping[str, str]


@dataclass
class Rendered:
    """A section with its context, number and heading, ready to render."""

    module: ModuleType
    context: dict[str, Any]
    number: str
    heading: str

    @property
    def name(self) -> str:
        return self.module.__name__.rsplit(".", 1)[1]


def _environment() -> jinja2.Environment:
    from imdb_rnn.report.fmt import mark_value

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(SECTIONS_FOLDER),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=mark_value,
    )


def plan_sections(data: ReportData) -> tuple[list[Rendered], Refs]:
    """The sections present, numbered; tables and figures numbered in report order."""
    present: list[Rendered] = []
    part = sub = 0
    tables: dict[str, str] = {}
    figures: dict[str, str] = {}
    sections: dict[str, str] = {}
    for module in SECTIONS:
        context = module.context(data)
        if context is None:
            continue
        if module.LEVEL == 2:
            part, sub = part + 1, 0
            number, heading = f"{part}", f"## {part} {module.TITLE}"
        elif module.LEVEL == 3:
            sub += 1
            number, heading = f"{part}.{sub}", f"### {part}.{sub} {module.TITLE}"
        else:
            number, heading = "", f"## {module.TITLE}"
        for kind, numbered in (("tables", tables), ("figures", figures)):
            for name, item in context.get(kind, {}).items():
                if name in numbered:
                    raise ValueError(f"two {kind} named {name!r} in the report")
                item.number = len(numbered) + 1
                numbered[name] = f"{'Table' if kind == 'tables' else 'Figure'} {item.number}"
        rendered = Rendered(module, context, number, heading)
        sections[rendered.name] = f"Section {number}" if number else module.TITLE
        present.append(rendered)
    return present, Refs(tables, figures, sections)


def render(data: ReportData) -> tuple[str, str, list[Rendered]]:
    """The report as Markdown and as LaTeX, and the sections it holds."""
    present, refs = plan_sections(data)
    env = _environment()
    markdown = [f"# {data.params.report.title}", f"## ({data.params.report.course})", data.params.report.author]
    latex = []
    for section in present:
        text = env.get_template(f"{section.name}.j2").render(c=section.context, ref=refs, number=section.number)
        parts = (section.context.get(kind, {}) for kind in ("tables", "figures", "equations"))
        tables, figures, equations = parts
        markdown.append(to_markdown(f"{section.heading}\n\n{text}", tables, figures, equations).rstrip("\n"))
        latex.append(to_latex(f"{section.heading}\n\n{text}", tables, figures, equations).rstrip("\n"))
    preamble = (TEMPLATES / "preamble.tex").read_text(encoding="utf-8")
    report = data.params.report
    title = "\n".join(
        [
            r"\begin{center}",
            rf"  {{\LARGE\bfseries {tex_escape(report.title)}\par}}",
            r"  \vspace{0.6em}",
            rf"  {{\large ({tex_escape(report.course)})\par}}",
            r"  \vspace{0.6em}",
            rf"  {{\large {tex_escape(report.author)}\par}}",
            r"\end{center}",
        ]
    )
    pdf_info = rf"\hypersetup{{pdftitle={{{tex_escape(report.title)}}}, pdfauthor={{{tex_escape(report.author)}}}}}"
    tex = f"{preamble}{pdf_info}\n\n\\begin{{document}}\n\n{title}\n\n" + "\n\n".join(latex) + "\n\n\\end{document}\n"
    return "\n\n".join(markdown) + "\n", TexRaw(tex), present


def write_report(inputs: ReportInputs, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Render ``report.md``, ``report.tex``, the figures, the tables and ``params.yaml`` under ``out``."""
    out = Path(out)
    data = load_report_data(inputs)
    markdown, latex, present = render(data)
    written: dict[str, Path] = {}
    for section in present:
        for spec in getattr(section.module, "FIGURES", ()):
            targets = [out / "figures" / f"{spec.name}{suffix}" for suffix in FIGURE_FORMATS]
            section.module.draw(data, spec.name, targets)
            written.update({f"{spec.name}{suffix}": target for suffix, target in zip(FIGURE_FORMATS, targets, strict=True)})
    # The exact params this report was rendered with: the hash it prints is this file's.
    written["params"] = out / PARAMS_COPY
    write_bytes(written["params"], inputs.params.read_bytes())
    written.update(write_tables(present, out))
    written["md"], written["tex"] = out / "report.md", out / "report.tex"
    write_text(written["md"], markdown)
    write_text(written["tex"], latex)
    return written


def _html_table(title: str, rows: Sequence[Sequence[object]]) -> str:
    """A small standalone HTML page with one table (Snakemake's HTML report shows it inline)."""
    cell = lambda tag, value: f"<{tag}>{html.escape(str(value))}</{tag}>"  # noqa: E731
    head = "".join(cell("th", value) for value in rows[0])
    body = "".join("<tr>" + "".join(cell("td", value) for value in row) + "</tr>\n" for row in rows[1:])
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{padding:4px 10px;border-bottom:1px solid #ccc;text-align:left}</style>"
        f"</head><body><p>{html.escape(title)}</p><table><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table></body></html>\n"
    )


def write_tables(present: Sequence[Rendered], out: Path) -> dict[str, Path]:
    """Table 1 and Part 2's check counts as small HTML tables (shown by `snakemake --report`):
    the rows Part 1 and Part 2 give as ``html_rows``."""
    rows = {section.name: section.context.get("html_rows") for section in present}
    paths = {}
    for artifact, name, title in zip(TABLES, ("part1", "part2"), ("Table 1: Results", "Part 2: the derived gradients, checked"), strict=True):
        if rows.get(name):
            paths[name] = out / artifact.path
            write_text(paths[name], _html_table(title, rows[name]))
    return paths
