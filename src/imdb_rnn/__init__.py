"""Regenerate the IMDB recurrent-network / triplet-loss assignment report end to end.

The stage programs in ``workflow/scripts/`` (one per stage, named as the stage) are thin
command-line wrappers over this package; Snakemake and DVC call them the same way.

At the top, what every part shares: ``config`` (params.yaml, validated), ``errors`` (one-line
user errors), ``fileio`` (atomic writes), ``numerics`` (pinned CPU kernels), ``provenance``
(which commit), ``fingerprint`` (weights hashed), ``records`` (the files a run leaves).
Then one subpackage per part of the pipeline, in its order: ``data`` (download, prepare,
embed), ``train`` (train, diagnose), ``triplet`` (gradcheck: Part 2), ``stats`` (summarize
and the statistics), ``report`` (report, pdf); ``checks`` (preflight, verify) and
``pipeline`` (the stage table both tools read).
"""
