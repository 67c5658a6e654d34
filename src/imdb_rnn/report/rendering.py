"""Rendering the report's context with Jinja2: the Markdown and LaTeX templates, and the prose both share.

    from imdb_rnn.report.rendering import render
    texts = render(context)        # {"md": ..., "tex": ...}

``templates/report.md.j2`` and ``templates/report.tex.j2`` lay the report out; every paragraph
both print is written once in ``templates/prose.j2`` (light markup: **bold**, *emphasis*,
`code`, $math$) and converted per format (:func:`imdb_rnn.report.fmt.prose_latex`); the
provenance table's rows are built once here (:func:`provenance_rows`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from imdb_rnn.report.fmt import TexRaw, mark_value, prose_latex, prose_markdown, tex_finalize

TEMPLATES = Path(__file__).with_name("templates")
RESOURCES = ("templates/report.md.j2", "templates/report.tex.j2", "templates/prose.j2")  # read at run time (pipeline.codedeps)


def _environment(**delimiters: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        **delimiters,
    )


SETUP_ITEMS = (
    "setup_data",
    "setup_vocabulary",
    "setup_embedding",
    "setup_training",
    "setup_hardware",
    "setup_tokens",
    "setup_model",
    "setup_batches",
    "setup_selection",
)


PART2_PROSE = (
    "part2_problem",
    "q2_scalar_form",
    "q2_step",
    "q2_therefore",
    "q2_subgradient",
    "q2_heaviside",
    "q2_active",
    "q3_active",
    "q4_intro",
    "q4_verdict",
    "q5_intro",
    "q6_intro",
    "q6_that_is",
    "q6_original",
)


def _prose_calls(context: Mapping[str, Any]) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(key, macro of templates/prose.j2, its arguments) for every paragraph this context has."""
    names = ["part1_intro", *SETUP_ITEMS, "part2_reconstructed", "part2_checks", *PART2_PROSE]
    findings = context.get("findings")
    if findings is not None:
        names += ["numbers_intro", "pairs_intro", "discussion_length", "discussion_embedding"]
        names += [f"discussion_{part}" for part in ("rnn", "lstm") if findings["discussion"].get(part)]
    if context.get("diagnosis") is not None:
        names.append("gradient_flow")
    calls = [(name, name, ()) for name in names]
    if findings is not None:
        calls += [(f"appendix_{i}", "appendix_experiment", (e,)) for i, e in enumerate(findings.get("appendix") or [])]
        calls += [(f"shows_{i}", "appendix_shows", (e,)) for i, e in enumerate(findings.get("appendix") or [])]
    return calls


def shared_prose(context: Mapping[str, Any]) -> dict[str, str]:
    """Each paragraph of templates/prose.j2, rendered with ``context`` in its light markup;
    a paragraph's lines joined into one (the source is wrapped, the output need not be)."""
    module = _environment(finalize=mark_value).get_template("prose.j2").make_module(dict(context))
    texts = {}
    for key, macro, args in _prose_calls(context):
        paragraphs = re.split(r"\n\s*\n", str(getattr(module, macro)(*args)).strip())
        texts[key] = "\n\n".join(" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in paragraphs)
    return texts


def provenance_rows(p: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The provenance table as (label, text) rows in the prose markup, written once for both formats."""
    v = mark_value
    rows = [
        ("Rendered", v(p["date"])),
        ("Rendered at commit", f"`{v(p['commit'])}`" + (" (+dirty: with uncommitted code changes)" if p["commit"].endswith("+dirty") else "")),
        ("Trained at commit", ", ".join(f"`{v(c)}`" for c in p["trained_at"])),
        ("Params", f"`params.yaml` beside this report, sha256 `{v(p['params_hash'])}`…"),
        ("Data", f"IMDB archive `{v(p['archive_url'])}` (sha256 `{v(p['archive_sha256'])}`), {v(p['archive_reviews'])} reviews"),
        ("Content fingerprint", f"`{v(p['data_fingerprint'])}`"),
        ("Vocabulary fingerprint", f"`{v(p['vocab_fingerprint'])}`"),
        ("Training hardware", f"{v(p['devices'])}, {v(p['threads'])}"),
        ("Numeric kernels", v(p["numerics"])),
        ("Report rendered on", f"{v(p['platform'])}, {v(p['cpus'])} CPUs, Python {v(p['python'])}, torch {v(p['torch'])}"),
        ("Wall time", f"prepare {v(p['prepare_seconds'])} (reading the archive {v(p['read_seconds'])}); embed {v(p['embed_seconds'])}"),
    ]
    for t in p["train"]:
        total = f" ({v(t['total'])} over {v(t['n'])} seeds)" if t["n"] > 1 else ""
        rows.append(("", f"train {v(t['title'])}: {v(t['seconds'])}{total}"))
    return rows


def _in_format(prose: Mapping[str, str], context: Mapping[str, Any], convert: Callable[[str], str]) -> dict[str, Any]:
    out: dict[str, Any] = {name: convert(text) for name, text in prose.items()}
    out["setup"] = [out[name] for name in SETUP_ITEMS]
    for prefix, name in (("appendix_", "appendix"), ("shows_", "appendix_shows")):
        out[name] = [out[key] for key in sorted((k for k in out if k.startswith(prefix)), key=lambda k: int(k.split("_")[1]))]
    out["provenance"] = [{"label": convert(label), "value": convert(text)} for label, text in provenance_rows(context["provenance"])]
    return out


def render(context: Mapping[str, Any]) -> dict[str, str]:
    """The Markdown and LaTeX texts of one context."""
    prose = shared_prose(context)
    markdown = _environment().get_template("report.md.j2").render({**context, "prose": _in_format(prose, context, prose_markdown)})
    # LaTeX is full of braces and #, so its template marks Jinja with << >>, <% %> and <# #>.
    latex_env = _environment(
        variable_start_string="<<",
        variable_end_string=">>",
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<#",
        comment_end_string="#>",
        finalize=tex_finalize,
    )
    # For a macro's output, which is LaTeX already: each value in it was escaped when emitted.
    latex_env.filters["latex"] = TexRaw
    latex = latex_env.get_template("report.tex.j2").render({**context, "prose": _in_format(prose, context, prose_latex)})
    return {"md": markdown, "tex": latex}
