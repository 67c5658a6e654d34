"""The pipeline's stages, declared once: Snakemake's rules and dvc.yaml are both made from this table.

    from imdb_rnn.pipeline.stages import STAGES, stage
    stage("train").command(tool="dvc")
    # "python workflow/scripts/train.py --params params.yaml --arch ${item.arch} --seed ${item.seed} ..."

A stage is one program, ``workflow/scripts/<name>.py``, and its name is the Snakemake rule's
and the DVC stage's. Its command line is built from the paths below and from templates with
three placeholders: ``{arch}`` and ``{seed}`` (the job's architecture and seed: Snakemake
wildcards, DVC's ``${item…}``) and ``{primary_seed}`` (``train.seed``: a number Snakemake
reads when it loads, ``${train.seed}`` for DVC, so ``dvc exp run -S train.seed=1`` needs no
regeneration). The stage's inputs and outputs are the same paths; its code dependencies come
from its program's imports (``imdb_rnn.pipeline.codedeps``), the report's files from
``imdb_rnn.report.registry``.

Files whose names follow params (one per architecture or per run) are a :class:`Many`: DVC,
which cannot expand a list inside a stage, declares their folder; Snakemake lists each file.
``imdb_rnn.pipeline.dvcyaml`` writes dvc.yaml from this table; workflow/rules/common.smk
gives the rules their inputs, outputs and shell commands from it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from imdb_rnn.report import registry

PARAMS = "params.yaml"
PREFLIGHT = "results/preflight.json"
ARCHIVE = "data/aclImdb_v1.tar.gz"
PREPARED = "data/prepared"
PREPARED_FILES = tuple(f"{PREPARED}/{name}" for name in ("train.npz", "valid.npz", "test.npz", "tokenizer.json", "unsup.txt"))
DATA_STATS = "results/data/stats.json"
EMBEDDING = "data/embeddings/embedding.npy"
EMBEDDING_STATS = "results/embedding/stats.json"
CHECKPOINTS = "models"
CHECKPOINT = f"{CHECKPOINTS}/{{arch}}/seed{{seed}}.pt"
PRIMARY_CHECKPOINT = f"{CHECKPOINTS}/{{arch}}/seed{{primary_seed}}.pt"
RESUME = f"{CHECKPOINTS}/resume/{{arch}}-seed{{seed}}.pt"
RUNS = "results/runs"
RUN = f"{RUNS}/{{arch}}/seed{{seed}}"
TRIPLET_PROBLEM = "src/imdb_rnn/triplet/problem.yaml"
VERIFICATION = "results/triplet/verification.json"
DIAGNOSTICS = "results/diagnostics"
RESULTS = "results"
SUMMARY = f"{RESULTS}/summary.json"
ACCURACY = f"{RESULTS}/accuracy.json"  # DVC's metrics file (`dvc exp show`)
METRICS = f"{RESULTS}/metrics"
HISTORY = f"{RESULTS}/history"
MODELS = f"{RESULTS}/models"
EXPERIMENTS = f"{RESULTS}/experiments"  # committed experiments beside the baseline
REPORT = "report"
PDF = f"{REPORT}/report.pdf"

# How a stage multiplies into jobs: one job, one per architecture (DVC `foreach`), one per
# architecture and seed (DVC `matrix`).
ONCE, PER_ARCH, PER_RUN = "once", "per architecture", "per run"
# The whole params file (the stage records its hash), as DVC's `- params.yaml:` says it.
WHOLE_FILE = "*"


@dataclass(frozen=True)
class Many:
    """Files named after the architectures (and seeds) in params, or found by a glob: DVC declares
    ``folder``, Snakemake each file of ``each`` (templates with ``{arch}``/``{seed}``, or a glob)."""

    folder: str
    each: tuple[str, ...]


@dataclass(frozen=True)
class Out:
    """An output; ``git``: tracked by git, not DVC's cache (``cache: false``); ``persist``: a failed
    rerun keeps the previous file (DVC ``persist: true``, Snakemake ``update()``)."""

    path: str | Many
    git: bool = False
    persist: bool = False


@dataclass(frozen=True)
class Arg:
    """A command-line option whose value the running tool decides (threads): DVC's, Snakemake's."""

    flag: str
    dvc: str
    snakemake: str


@dataclass(frozen=True)
class Stage:
    """One stage: program ``workflow/scripts/<name>.py`` run with ``args`` (flag, template) and
    ``tool_args``; it reads ``deps`` and the ``params`` keys and writes ``outs``."""

    name: str
    doc: str
    args: tuple[tuple[str, str], ...]
    deps: tuple[str | Many, ...] = ()
    outs: tuple[Out, ...] = ()
    params: tuple[str, ...] = ()
    expand: str = ONCE
    tool_args: tuple[Arg, ...] = ()
    # Read by DVC only: Snakemake runs the preflight checks when it loads, not as a job.
    dvc_only_deps: tuple[str, ...] = ()
    # False: Snakemake runs it when it loads the workflow, not as a rule.
    snakemake_rule: bool = True

    @property
    def program(self) -> str:
        return f"workflow/scripts/{self.name}.py"

    def command(self, tool: str, primary_seed: int | None = None) -> str:
        """The command line for ``tool`` ("dvc" or "snakemake"): placeholders in DVC's syntax, or
        wildcards in Snakemake's (``{wildcards.arch}``; ``{primary_seed}`` given as a number)."""
        words = ["python", self.program]
        for flag, value in self.args:
            words += [flag, render(value, tool, self.expand, primary_seed)]
        for arg in self.tool_args:
            words += [arg.flag, arg.dvc if tool == "dvc" else arg.snakemake]
        return " ".join(words)

    def dvc_name(self, wildcards: dict[str, str]) -> str:
        """The DVC stage that is the job with ``wildcards`` (``train@bilstm2-1234``)."""
        if self.expand == PER_RUN:
            return f"{self.name}@{wildcards['arch']}-{wildcards['seed']}"
        if self.expand == PER_ARCH:
            return f"{self.name}@{wildcards['arch']}"
        return self.name


def render(value: str, tool: str, expand: str, primary_seed: int | None = None) -> str:
    """A template as ``tool`` (``dvc`` or ``snakemake``) writes it. Literal text is shell-quoted (and, for Snakemake, its
    braces doubled); placeholders are validated ids and numbers (imdb_rnn.config)."""
    out, rest = [], value
    while rest:
        literal, brace, rest = rest.partition("{")
        if literal:
            quoted = shlex.quote(literal) if literal != shlex.quote(literal) else literal
            out.append(quoted.replace("{", "{{").replace("}", "}}") if tool == "snakemake" else quoted)
        if not brace:
            break
        name, _, rest = rest.partition("}")
        out.append(_placeholder(name, tool, expand, primary_seed))
    return "".join(out)


def _placeholder(name: str, tool: str, expand: str, primary_seed: int | None) -> str:
    if name == "primary_seed":
        if tool == "dvc":
            return "${train.seed}"
        if primary_seed is None:
            raise ValueError("a Snakemake command with {primary_seed} needs its value")
        return str(primary_seed)
    if name not in ("arch", "seed") or (name == "seed" and expand != PER_RUN) or expand == ONCE:
        raise ValueError(f"placeholder {{{name}}} in a stage that runs {expand}")
    if tool == "snakemake":
        return f"{{wildcards.{name}}}"
    return f"${{item.{name}}}" if expand == PER_RUN else "${item}"


def _report(name: str) -> str:
    return f"{REPORT}/{name}"


_ARCH_FILES = (f"{METRICS}/{{arch}}.json", f"{HISTORY}/{{arch}}.csv", f"{MODELS}/{{arch}}.txt")

STAGES: tuple[Stage, ...] = (
    Stage(
        "preflight",
        # Snakemake runs the same checks when it loads the workflow, before any job, rather than
        # as a rule (imdb_rnn.checks.preflight says why); DVC needs the stage to gate every stage
        # that writes a git-tracked file (training, and the published results: pipeline.runs).
        "refuse a configuration that cannot work before any training job starts",
        args=(("--params", PARAMS), ("--out", PREFLIGHT)),
        # persist: a refused run keeps the previous record (DVC would delete it before the stage)
        outs=(Out(PREFLIGHT, git=True, persist=True),),
        params=(WHOLE_FILE,),
        snakemake_rule=False,
    ),
    Stage(
        "download",
        "fetch the IMDB archive (data.url) and verify its sha256",
        args=(("--params", PARAMS), ("--out", ARCHIVE)),
        outs=(Out(ARCHIVE),),
        params=("data.url", "data.sha256"),
    ),
    Stage(
        "prepare",
        "split, tokenize, build the vocabulary and encode the reviews",
        args=(("--params", PARAMS), ("--archive", ARCHIVE), ("--out", PREPARED), ("--stats", DATA_STATS)),
        deps=(ARCHIVE,),
        # Files, not a folder output: make verify compares each file's md5 with the lock.
        dvc_only_deps=(PREFLIGHT,),
        outs=(*(Out(path) for path in PREPARED_FILES), Out(DATA_STATS, git=True)),
        params=("data.limit", "data.seed", "data.valid_fraction", "data.vocab_size"),
    ),
    Stage(
        "embed",
        "the embedding's starting point (word2vec, GloVe or random)",
        args=(("--params", PARAMS), ("--data", PREPARED), ("--out", EMBEDDING), ("--stats", EMBEDDING_STATS)),
        deps=(Many(PREPARED, PREPARED_FILES),),
        dvc_only_deps=(PREFLIGHT,),
        outs=(Out(EMBEDDING), Out(EMBEDDING_STATS, git=True)),
        params=("embedding", "numerics"),
    ),
    Stage(
        "train",
        "train one architecture with one seed (interrupted: rerun, it resumes after its last epoch)",
        args=(
            ("--params", PARAMS),
            ("--arch", "{arch}"),
            ("--seed", "{seed}"),
            ("--data", PREPARED),
            ("--embedding", EMBEDDING),
            ("--checkpoint", CHECKPOINT),
            ("--resume", RESUME),
            ("--metrics", f"{RUN}/metrics.json"),
            ("--history", f"{RUN}/history.csv"),
            ("--structure", f"{RUN}/model.txt"),
            ("--predictions", f"{RUN}/predictions.csv.gz"),
        ),
        # Snakemake gives each job its threads and lets the LSTM grow onto idle cores
        # (imdb_rnn.train.threads); DVC runs one stage at a time, which may use every core.
        tool_args=(Arg("--threads", "1", "{threads}"), Arg("--max-threads", "auto", "{params.max_threads}")),
        deps=(Many(PREPARED, PREPARED_FILES), EMBEDDING),
        dvc_only_deps=(PREFLIGHT,),
        # persist: the previous run's files stay while the job runs and come back if it fails
        # (training writes every output atomically, all of them at its end).
        outs=(
            Out(CHECKPOINT, persist=True),
            *(Out(f"{RUN}/{name}", git=True, persist=True) for name in ("metrics.json", "history.csv", "model.txt", "predictions.csv.gz")),
        ),
        params=(
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
        ),
        expand=PER_RUN,
    ),
    Stage(
        "gradcheck",
        "derive Part 2's triplet-loss gradients and verify them",
        args=(("--params", PARAMS), ("--problem", TRIPLET_PROBLEM), ("--out", VERIFICATION)),
        deps=(TRIPLET_PROBLEM,),
        dvc_only_deps=(PREFLIGHT,),
        outs=(Out(VERIFICATION, git=True),),
        params=("numerics",),
    ),
    Stage(
        "diagnose",
        "where each trained model's gradient reaches, position by position (its primary seed's checkpoint)",
        args=(
            ("--params", PARAMS),
            ("--checkpoint", PRIMARY_CHECKPOINT),
            ("--arch", "{arch}"),
            ("--data", f"{PREPARED}/valid.npz"),
            ("--out", f"{DIAGNOSTICS}/{{arch}}.json"),
        ),
        deps=(PRIMARY_CHECKPOINT, Many(PREPARED, (f"{PREPARED}/valid.npz",))),
        dvc_only_deps=(PREFLIGHT,),
        outs=(Out(f"{DIAGNOSTICS}/{{arch}}.json", git=True),),
        params=("numerics",),
        expand=PER_ARCH,
    ),
    Stage(
        "summarize",
        "every run's results per architecture: mean and spread over the seeds, the primary seed's files",
        args=(("--params", PARAMS), ("--runs", RUNS), ("--out", RESULTS)),
        deps=(Many(RUNS, tuple(f"{RUN}/{name}" for name in ("metrics.json", "history.csv", "model.txt"))),),
        dvc_only_deps=(PREFLIGHT,),
        outs=(
            Out(SUMMARY, git=True),
            Out(ACCURACY, git=True),
            *(Out(Many(path.rpartition("/")[0], (path,)), git=True) for path in _ARCH_FILES),
        ),
        params=("train.archs", "train.seed", "train.seeds"),
    ),
    Stage(
        "report",
        "render the report (Markdown, LaTeX), its figures and tables",
        args=(
            ("--params", PARAMS),
            ("--summary", SUMMARY),
            ("--metrics", METRICS),
            ("--history", HISTORY),
            ("--models", MODELS),
            ("--data-stats", DATA_STATS),
            ("--embedding-stats", EMBEDDING_STATS),
            ("--triplet", VERIFICATION),
            ("--diagnostics", DIAGNOSTICS),
            ("--runs", RUNS),
            ("--experiments", EXPERIMENTS),
            ("--out", REPORT),
        ),
        deps=(
            SUMMARY,
            *(Many(path.rpartition("/")[0], (path,)) for path in _ARCH_FILES),
            DATA_STATS,
            EMBEDDING_STATS,
            VERIFICATION,
            Many(DIAGNOSTICS, (f"{DIAGNOSTICS}/{{arch}}.json",)),
            Many(RUNS, tuple(f"{RUN}/{name}" for name in ("metrics.json", "history.csv", "predictions.csv.gz"))),
            Many(EXPERIMENTS, (f"{EXPERIMENTS}/*/summary.json",)),
        ),
        dvc_only_deps=(PREFLIGHT,),
        outs=tuple(Out(_report(name), git=True, persist=True) for name in registry.report_files()),
        params=(WHOLE_FILE,),  # the report prints the params' hash
    ),
    Stage(
        "pdf",
        "the report as a PDF: typeset by LaTeX where installed, else set plain",
        args=(("--tex", _report("report.tex")), ("--markdown", _report("report.md")), ("--out", PDF)),
        deps=tuple(_report(name) for name in registry.pdf_inputs()),
        dvc_only_deps=(PREFLIGHT,),
        outs=(Out(PDF, git=True, persist=True),),
    ),
)


def stage(name: str) -> Stage:
    """The stage called ``name``."""
    for found in STAGES:
        if found.name == name:
            return found
    raise KeyError(f"no stage {name!r}; stages: {', '.join(s.name for s in STAGES)}")


def expand_template(template: str, archs: Iterable[str], seeds: Iterable[int], root: str | Path = ".") -> list[str]:
    """The files a :class:`Many` template names for these architectures and seeds (a glob: the
    files it matches under ``root``, as project paths)."""
    if "*" in template:
        return sorted(path.relative_to(root).as_posix() for path in Path(root).glob(template))
    seeds = list(seeds)
    if "{seed}" in template:
        return [template.format(arch=arch, seed=seed) for arch in archs for seed in seeds]
    if "{arch}" in template:
        return [template.format(arch=arch) for arch in archs]
    return [template]
