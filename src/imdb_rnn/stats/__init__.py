"""What the runs' numbers say: the summary over seeds, intervals and tests, experiments.

Stage ``summarize`` (``summarize``); the report reads the rest. Read in this order:

- ``summarize``: every run (architecture × seed) into ``results/summary.json`` and the contract files;
- ``analysis``: per run and over seeds, paired comparisons of architectures, accuracy by length;
- ``experiments``: runs beside the baseline (``results/experiments/<name>/``) and their comparison.
"""
