# Validated params and the get_* helpers the rules share. Every path, params key and command
# comes from the stage table (src/imdb_rnn/pipeline/stages.py), which dvc.yaml is made from.

import json
import sys

import yaml
from snakemake.exceptions import WorkflowError

from imdb_rnn.config import parse_params
from imdb_rnn.errors import UserError
from imdb_rnn.checks.preflight import preflight
from imdb_rnn.pipeline.dvcrecord import dvc_stages, record
from imdb_rnn.pipeline.rules import Jobs, caption_file, refuse, shown
from imdb_rnn.pipeline.stages import ARCHIVE, PARAMS as PARAMS_FILE, RUNS, stage

try:
    PARAMS = parse_params(config, PARAMS_FILE)
    # What can be refused before any job starts (imdb_rnn/checks/preflight.py; DVC runs the same
    # checks as its `preflight` stage). The GPU is looked for only where the jobs run here,
    # not on a cluster's login node.
    PREFLIGHT_RECORD = preflight(
        PARAMS, check_device=workflow.local_exec and not workflow.remote_exec
    )
except UserError as exc:
    refuse(exc)

with open(PARAMS_FILE, encoding="utf-8") as _handle:
    if yaml.safe_load(_handle) != config:
        refuse(
            f"--config/--configfile overrides are not supported: the stage programs read "
            f"{PARAMS_FILE} themselves; edit {PARAMS_FILE} (or use `dvc exp run -S key=value`)"
        )

JOBS = Jobs(
    archs=PARAMS.train.archs,
    seeds=PARAMS.train.all_seeds,
    primary_seed=PARAMS.train.seed,
)


def get_inputs(name):
    """Every file stage ``name`` reads, its program and the modules it imports included: a
    change to any reruns it (Snakemake's rerun triggers "input", "mtime"), as DVC's deps do.
    """
    return JOBS.inputs(name)


def get_outputs(name):
    """Stage ``name``'s outputs: kept through a failed rerun (update) where DVC persists them,
    marked for `snakemake --report` where the report registry shows them."""
    outputs = []
    for path, out in JOBS.outputs(name):
        item = shown(path)
        if item is not None:
            path = report(
                path,
                caption=f"../../{caption_file(item)}",
                category=item.category,
                subcategory=item.subcategory,
            )
        outputs.append(update(path) if out.persist else path)
    return outputs


def get_shell(name, log):
    """Stage ``name``'s command, the same as dvc.yaml's but for the wildcards and ``log``."""
    return JOBS.shell(name, log)


def get_params(name):
    """The values of the params keys stage ``name`` reads, as one string Snakemake compares
    (its "params" rerun trigger). A function, so that Snakemake does not read braces in a
    value (report.author: 'Ao {Peng}') as wildcards."""
    values = {}
    for key in stage(name).params:
        node = config
        for part in key.split(".") if key != "*" else []:
            node = node[part]
        values[key] = node
    text = json.dumps(values, sort_keys=True)
    return lambda wildcards: text


def get_max_threads(wildcards, threads, resources):
    """The most threads a train job may grow to: on a cluster, the CPUs the job was given
    (cpus_per_task, as profiles/slurm sets); locally, every core given to Snakemake (--cores).

    A SLURM job's own Snakemake runs with --cores all, which would be the whole node, so the
    allocation is read first. Without either, a job stays at its declared threads.
    """
    allocated = resources.get("cpus_per_task")
    if allocated:
        return max(threads, int(allocated))
    try:
        return max(threads, workflow.cores)
    except WorkflowError:
        return threads


def record_for_dvc(jobs):
    """Commit these finished jobs as their DVC stages (imdb_rnn/pipeline/dvcrecord.py)."""
    names = dvc_stages((job.rule.name, dict(job.wildcards_dict)) for job in jobs)
    note = record(".", names, PREFLIGHT_RECORD)
    if note:
        print(note, file=sys.stderr)


def get_final_outputs():
    """The report and its PDF (typeset where LaTeX is installed, else plain: imdb_rnn/report/pdf.py)."""
    return [path for name in ("report", "pdf") for path, _ in JOBS.outputs(name)]


wildcard_constraints:
    arch="|".join(JOBS.archs),
    seed=r"\d+",
