# Paths, validated params and the get_* helpers shared by the rules.
# Every path below is written once for Snakemake; dvc.yaml's `vars` hold the same ones.

import json
import sys

from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

from imdb_rnn.config import parse_params
from imdb_rnn.errors import UserError
from imdb_rnn.checks.preflight import preflight
from imdb_rnn.pipeline.codedeps import code_deps

PARAMS_FILE = "params.yaml"

try:
    PARAMS = parse_params(config, PARAMS_FILE)
    # What can be refused before any job starts (imdb_rnn/checks/preflight.py; DVC runs the same
    # checks as its `preflight` stage). The GPU is looked for only where the jobs run here,
    # not on a cluster's login node.
    preflight(PARAMS, check_device=workflow.local_exec and not workflow.remote_exec)
except UserError as exc:
    sys.exit(f"error: {exc}")

with open(PARAMS_FILE, encoding="utf-8") as _handle:
    if yaml.safe_load(_handle) != config:
        sys.exit(
            f"error: --config/--configfile overrides are not supported: the stage programs read "
            f"{PARAMS_FILE} themselves; edit {PARAMS_FILE} (or use `dvc exp run -S key=value`)"
        )

ARCHIVE = "data/aclImdb_v1.tar.gz"
PREPARED = "data/prepared"
PREPARED_FILES = [
    f"{PREPARED}/{name}"
    for name in ("train.npz", "valid.npz", "test.npz", "tokenizer.json", "unsup.txt")
]
DATA_STATS = "results/data/stats.json"
EMBEDDING = "data/embeddings/embedding.npy"
EMBEDDING_STATS = "results/embedding/stats.json"
RUNS = "results/runs"
CHECKPOINTS = "models"
RESUME = "models/resume"
TRIPLET_PROBLEM = "src/imdb_rnn/triplet/problem.yaml"
VERIFICATION = "results/triplet/verification.json"
SUMMARY_DIR = "results"
SUMMARY = "results/summary.json"
ACCURACY = "results/accuracy.json"
SUMMARY_FOLDERS = {"metrics": "json", "history": "csv", "models": "txt"}
DIAGNOSTICS = "results/diagnostics"
EXPERIMENTS = "results/experiments"
REPORT = [
    "report/report.md",
    "report/report.tex",
    "report/figures/learning_curves.png",
    "report/figures/learning_curves.pdf",
    "report/figures/gradient_flow.png",
    "report/figures/gradient_flow.pdf",
    "report/figures/accuracy_by_length.png",
    "report/figures/accuracy_by_length.pdf",
    "report/params.yaml",
    "report/tables/table1.html",
    "report/tables/part2_checks.html",
]
# What `snakemake --report` shows: path -> caption (workflow/report/), category, subcategory.
REPORT_ITEMS = {
    "report/figures/learning_curves.png": ("learning_curves.rst", "Part 1", "Figures"),
    "report/figures/gradient_flow.png": ("gradient_flow.rst", "Part 1", "Figures"),
    "report/figures/accuracy_by_length.png": (
        "accuracy_by_length.rst",
        "Part 1",
        "Figures",
    ),
    "report/tables/table1.html": ("table1.rst", "Part 1", "Tables"),
    "report/tables/part2_checks.html": ("part2_checks.rst", "Part 2", "Tables"),
}
PDF = "report/report.pdf"
# What each stage reads besides data: its program and every package module it imports,
# directly or not (imdb_rnn/pipeline/codedeps.py reads the imports; dvc.yaml lists the same files and
# tests/test_dag.py keeps them equal), and the params keys it uses. Changing one reruns that
# stage (Snakemake's rerun triggers "input" and "params"), as DVC's deps and params do.
STAGES = [
    "download",
    "prepare",
    "embed",
    "train",
    "gradcheck",
    "diagnose",
    "summarize",
    "report",
    "pdf",
]
CODE = {stage: code_deps(f"workflow/scripts/{stage}.py") for stage in STAGES}
PARAM_KEYS = {
    "download": ["data.url", "data.sha256"],
    "prepare": ["data.limit", "data.seed", "data.valid_fraction", "data.vocab_size"],
    "embed": ["embedding", "numerics"],
    "train": [
        "train.epochs",
        "train.batch_size",
        "train.lr",
        "train.device",
        "train.clip_norm",
        "train.optimizer",
        "train.batching",
        "train.checkpoint",
        "embedding.init",
        "models",
        "numerics",
    ],
    "gradcheck": ["numerics"],
    "diagnose": ["numerics"],
    "summarize": ["train.archs", "train.seed", "train.seeds"],
    "report": ["*"],  # the whole file: the report shows its hash
    "pdf": [],
}
ARCHS = PARAMS.train.archs
SEEDS = PARAMS.train.all_seeds
PRIMARY_SEED = PARAMS.train.seed


def get_folder(path, up=1):
    """The folder ``up`` levels above ``path``: stage programs take folders, rules declare files."""
    return str(Path(path).parents[up - 1])


def get_code(stage):
    return CODE[stage]


def get_params(stage):
    """The values of the params keys ``stage`` reads, as one string Snakemake can compare."""
    values = {}
    for key in PARAM_KEYS[stage]:
        node = config
        for part in key.split(".") if key != "*" else []:
            node = node[part]
        values[key] = node
    return json.dumps(values, sort_keys=True)


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


def get_run_outputs(name):
    """One file of every (architecture, seed) run, e.g. get_run_outputs("metrics.json")."""
    return [f"{RUNS}/{arch}/seed{seed}/{name}" for arch in ARCHS for seed in SEEDS]


def get_experiment_summaries():
    """The summary of every committed experiment beside the baseline (results/experiments/<name>/)."""
    return sorted(str(path) for path in Path(EXPERIMENTS).glob("*/summary.json"))


def get_diagnostics():
    """The gradient-flow file of every architecture (its primary seed's checkpoint)."""
    return [f"{DIAGNOSTICS}/{arch}.json" for arch in ARCHS]


def get_summary_files():
    """The per-architecture files summarize writes (DVC declares their three folders)."""
    return [
        f"{SUMMARY_DIR}/{kind}/{arch}.{ext}"
        for kind, ext in SUMMARY_FOLDERS.items()
        for arch in ARCHS
    ]


def get_report_outputs():
    """The report stage's outputs: each kept through a failed rerun (update), the figures
    and tables marked for Snakemake's HTML report (captions in workflow/report/)."""
    outputs = []
    for path in REPORT:
        if path in REPORT_ITEMS:
            caption, category, subcategory = REPORT_ITEMS[path]
            path = report(
                path,
                caption=f"../report/{caption}",
                category=category,
                subcategory=subcategory,
            )
        outputs.append(update(path))
    return outputs


def get_final_outputs():
    """The report and its PDF (typeset where LaTeX is installed, else plain: imdb_rnn/report/pdf.py)."""
    return REPORT + [PDF]


wildcard_constraints:
    arch="|".join(ARCHS),
    seed=r"\d+",
