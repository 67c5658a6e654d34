"""The report's sections, one module each with its template beside it (``<name>.py``, ``<name>.j2``).

In report order (:data:`imdb_rnn.report.registry.SECTIONS`): ``part1`` and ``part2`` keep the
original report's layout; ``beyond`` opens Part 3, this reproduction's own additions:
``seeds`` (uncertainty and comparisons over seeds), ``curves`` (learning curves), ``gradient_flow``,
``length`` (accuracy by review length), ``gap`` (why the numbers differ from the original's),
``discussion``; then ``appendix`` (the ablations) and ``provenance``. Each module's docstring
says what it prints and from which files.
"""
