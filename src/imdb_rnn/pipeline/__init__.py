"""The pipeline's own description, which Snakemake and DVC both read. Reading order:

- ``stages``: the table of stages: each one's program, command line, inputs, outputs, params keys;
- ``codedeps``: which files of the repository each stage program runs, read from its imports;
- ``dvcyaml``: dvc.yaml written from the table (``make generated``);
- ``rules``: what the Snakemake rules (workflow/rules/) take from the table;
- ``workspace``: one run at a time in a project folder, whichever tool starts it;
- ``dvcrecord``: what a Snakemake run built, recorded in dvc.lock.
"""
