# The whole pipeline under Snakemake:  snakemake --cores 4
# The same stages, commands and paths run under DVC: both are made from one table,
# src/imdb_rnn/pipeline/stages.py (dvc.yaml is generated from it: make generated).
# params.yaml is the only configuration: the stage programs read it themselves.


import sys

from imdb_rnn.config import load_params
from imdb_rnn.errors import UserError
from imdb_rnn.pipeline.runs import guard
from imdb_rnn.pipeline.rules import refuse
from imdb_rnn.pipeline.workspace import Workspace

# Read params.yaml ourselves first: a file that is not UTF-8 or not YAML gets the stages'
# one-line error (exit 2), not a traceback from the config loader.
try:
    load_params("params.yaml")
except UserError as exc:
    refuse(exc)


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


# One run at a time in this folder, whichever tool starts it (imdb_rnn/pipeline/workspace.py):
# taken once the jobs are known, so dry runs, --lint and --report never take it.
WORKSPACE = Workspace(".")


# A run that writes results/ or report/ in the project's own folder must be the published
# recipe (imdb_rnn/pipeline/runs.py): other params go to a workspace (make report).
onstart:
    try:
        if any(
            str(path).startswith(("results/", "report/"))
            for job in workflow.dag.jobs
            for path in job.output
        ):
            guard(".")
        WORKSPACE.take(" ".join(["snakemake", *sys.argv[1:]]))
    except UserError as exc:
        refuse(exc)


# What this run built is recorded where DVC sees it (dvc.lock), so `dvc status` agrees.
onsuccess:
    WORKSPACE.leave()
    record_for_dvc(workflow.dag.jobs)


onerror:
    WORKSPACE.leave()
