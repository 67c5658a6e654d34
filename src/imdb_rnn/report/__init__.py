"""The report: Markdown and LaTeX from the results files, then the PDF (stages ``report``, ``pdf``).

Read in this order:

- ``build``: the stage: read every input once, build one context, draw, render, write;
- ``findings``, ``part2``: the numbers and verdicts the sections print, formatted;
- ``figures``: the figures; ``fmt``: number formats and LaTeX escaping;
- ``rendering``: Jinja2 over ``templates/`` (one prose file, two layouts);
- ``pdf``: the PDF, typeset where LaTeX is installed, plain text otherwise (stage ``pdf``);
- ``readme``: README's Results block, written from the published files.
"""
