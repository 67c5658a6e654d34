"""The report: Markdown and LaTeX from the results files, then the PDF (stages ``report``, ``pdf``).

Read in this order:

- ``build``: the stage: read every input once (``inputs``), ask each section for its context,
  number sections, tables and figures, render, draw, write;
- ``registry``: the sections in report order, and the files the stage writes (which the
  pipeline reads for its outputs);
- ``sections``: one module per section, its template beside it (``part1.py`` + ``part1.j2``, …);
- ``document``: one section text in light markup, converted to Markdown and to LaTeX;
- ``fmt``: number formats and LaTeX escaping; ``figures``: what every figure shares;
- ``pdf``: the PDF, typeset where LaTeX is installed, plain text otherwise (stage ``pdf``);
- ``readme``: README's Results block, written from the published files.
"""
