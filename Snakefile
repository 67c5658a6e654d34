# The whole pipeline under Snakemake:  snakemake --cores 4
# The same stages, commands and paths run under DVC (dvc.yaml); tests/test_dag.py keeps the
# two in step. params.yaml is the only configuration: the stage programs read it themselves.


import sys

from imdb_rnn.config import load_params
from imdb_rnn.errors import UserError

# Read params.yaml ourselves first: a file that is not UTF-8 or not YAML gets the stages'
# one-line error, not a traceback from the config loader.
try:
    load_params("params.yaml")
except UserError as exc:
    sys.exit(f"error: {exc}")


configfile: "params.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/gradcheck.smk"
include: "workflow/rules/diagnose.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/verify.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
