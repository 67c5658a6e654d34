"""The pipeline's own description, which Snakemake and DVC both read.

- ``codedeps``: which files of the repository each stage program runs, read from its imports.
"""
