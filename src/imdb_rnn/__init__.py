"""Regenerate the IMDB recurrent-network / triplet-loss assignment report end to end.

The stage programs in ``workflow/scripts/`` are thin command-line wrappers over the
functions of this package; Snakemake and DVC call those programs the same way.
"""

__version__ = "0.1.0"
