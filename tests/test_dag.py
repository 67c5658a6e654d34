"""One DAG, two tools: Snakemake's rules and dvc.yaml, both made from the stage table
(imdb_rnn.pipeline.stages), must run the same stages the same way.

Compared per job: the shell command (less Snakemake's log redirection and the per-job thread
count), the inputs (DVC deps), the outputs, the params keys each stage reads, and the stage
names (DVC's, less ``@item``) against the rule names. Everything runs in a copy of the project
with a params file of its own (four architectures, three seeds, every other key at its
default), so a user's edits to params.yaml change nothing here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from imdb_rnn.config import parse_params
from imdb_rnn.pipeline.stages import STAGES

from conftest import ROOT

BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"
PROJECT = ["Snakefile", "dvc.yaml", ".dvcignore", ".dvc/config", "workflow", "src", "profiles", "results/experiments"]
ARCHS, SEEDS = ["bilstm2", "birnn2", "birnn1", "rnn1"], [1234, 1, 2]
MODELS = {
    "bilstm2": {"class_name": "MyRNN", "title": "2-level bi-LSTM", "cell": "lstm", "num_layers": 2, "bidirectional": True},
    "birnn2": {"class_name": "biRNN_2", "title": "2-level bi-RNN", "cell": "rnn", "num_layers": 2, "bidirectional": True},
    "birnn1": {"class_name": "biRNN_1", "title": "bi-RNN", "cell": "rnn", "bidirectional": True},
    "rnn1": {"class_name": "RNN_1", "title": "RNN", "cell": "rnn"},
}
# What Snakemake prints of a rule's params for the comparison: the keys get_params gives it.
PARAMS_PROBE = """
import json
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import OutputSettings, ResourceSettings
with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=Path("Snakefile"))._workflow
    print(json.dumps({rule.name: sorted(json.loads(rule.params.values(None))) for rule in workflow.rules if "values" in rule.params.keys()}))
"""


def dag_params(**train: object) -> dict:
    """A complete params file: the schema's defaults, the four architectures, ``train`` on top."""
    raw = {"train": {"archs": ARCHS, "seed": SEEDS[0], "seeds": SEEDS, **train}, "models": MODELS}
    return parse_params(raw).model_dump(mode="json")


def project(dest: Path, params: dict) -> Path:
    """The workflow files of this checkout in ``dest``, with ``params`` as its params.yaml."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT:
        source, target = ROOT / name, dest / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def _normalise(cmd: str) -> str:
    cmd = re.sub(r"\s*(?:> \S+ 2>&1|2>&1 \| tee \S+)\s*$", "", cmd.strip())
    cmd = re.sub(r"--threads \d+", "--threads N", cmd)
    cmd = re.sub(r"--max-threads (?:\d+|auto)", "--max-threads N", cmd)
    return " ".join(cmd.split())


def snakemake_jobs(root: Path) -> dict[str, dict]:
    result = subprocess.run(
        [str(SNAKEMAKE), "--dry-run", "--forceall", "--printshellcmds", "--cores", "2"], cwd=root, capture_output=True, text=True, check=True
    )
    jobs, current = {}, None
    for line in result.stdout.splitlines():
        if match := re.match(r"^rule (\w+):$", line):
            current = {"rule": match.group(1), "input": set(), "output": set(), "kept": set()}
        elif current is None:
            continue
        elif match := re.match(r"^\s+(input|output): (.*)$", line):
            key, value = match.groups()
            # Snakemake marks flagged files, e.g. "… (update)": the paths are compared.
            current[key] = {re.sub(r" \(\w+\)$", "", v) for v in value.split(", ")}
            if key == "output":
                current["kept"] = {v.removesuffix(" (update)") for v in value.split(", ") if v.endswith(" (update)")}
        elif line.startswith("Shell command: "):
            command = line.removeprefix("Shell command: ")
            if command != "None":  # `rule all` runs nothing
                current["cmd"] = _normalise(command)
                jobs[current["cmd"]] = current
            current = None
    return jobs


def dvc_stages(root: Path) -> dict[str, dict]:
    from dvc.repo import Repo

    stages = {}
    with Repo(str(root)) as repo:
        for stage in repo.index.stages:
            # DVC lists no keys when a stage depends on the whole params file; the table says "*".
            params = sorted(k for dep in stage.deps if hasattr(dep, "params") for k in (dep.params or ["*"]))
            stages[_normalise(stage.cmd)] = {
                "name": stage.name,
                "deps": {str(dep.def_path) for dep in stage.deps if not hasattr(dep, "params")},
                "outs": {str(out.def_path) for out in stage.outs},
                "outs_flags": {str(out.def_path): (out.use_cache, out.persist) for out in stage.outs},
                "params": params,
            }
    return stages


# The table's deliberate differences: stages Snakemake runs when it loads the workflow rather
# than as rules (preflight), and the deps only DVC needs to order its stages after them.
LOAD_TIME = {s.name for s in STAGES if not s.snakemake_rule}
DVC_ONLY_DEPS = {s.name: set(s.dvc_only_deps) for s in STAGES}


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    return project(tmp_path_factory.mktemp("dag") / "project", dag_params())


@pytest.fixture(scope="module")
def both(copy):
    return snakemake_jobs(copy), dvc_stages(copy)


def test_same_commands(both):
    snake, dvc = both
    assert set(snake) == {cmd for cmd, stage in dvc.items() if stage["name"] not in LOAD_TIME}
    assert len(snake) == 1 + 1 + 1 + len(ARCHS) * len(SEEDS) + 1 + len(ARCHS) + 1 + 1 + 1
    assert {stage["name"] for stage in dvc.values()} >= LOAD_TIME


def test_same_stage_names(both):
    snake, dvc = both
    for cmd, job in snake.items():
        assert dvc[cmd]["name"].split("@")[0] == job["rule"]


def test_same_inputs_and_outputs(both):
    snake, dvc = both
    for cmd, job in snake.items():
        name = job["rule"]
        deps, outs = dvc[cmd]["deps"] - DVC_ONLY_DEPS[name], dvc[cmd]["outs"]
        # A folder DVC tracks stands for the files Snakemake lists inside it.
        inputs = {next((d for d in deps if path.startswith(d + "/")), path) for path in job["input"]}
        outputs = {next((o for o in outs if path.startswith(o + "/")), path) for path in job["output"]}
        assert inputs == deps, name
        assert outputs == outs, name


def test_outputs_kept_through_a_failed_rerun_are_the_ones_dvc_persists(both):
    snake, dvc = both
    for cmd, job in snake.items():
        persisted = {path for path, (_, persist) in dvc[cmd]["outs_flags"].items() if persist}
        assert {path for path in job["output"] if path in persisted} == job["kept"], job["rule"]
        assert persisted <= job["output"], job["rule"]
    assert any(job["kept"] for job in snake.values())


def test_same_params_keys(copy, both):
    _, dvc = both
    done = subprocess.run([sys.executable, "-c", PARAMS_PROBE], cwd=copy, capture_output=True, text=True, check=True)
    snake = json.loads(done.stdout.strip().splitlines()[-1])
    for stage in dvc.values():
        name = stage["name"].split("@")[0]
        assert stage["params"] == snake.get(name, []) or name in LOAD_TIME, name
    assert set(snake) <= {stage["name"].split("@")[0] for stage in dvc.values()}


def test_snakemake_lint_is_clean(copy):
    result = subprocess.run([str(SNAKEMAKE), "--lint"], cwd=copy, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_snakefmt_has_nothing_to_change():
    snakefmt = BIN / "snakefmt"
    result = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/rules"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_slurm_profile_plans_every_job_with_a_gpu_for_training(copy):
    result = subprocess.run([str(SNAKEMAKE), "--profile", "profiles/slurm", "--dry-run", "--forceall"], cwd=copy, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    train = [b for b in result.stdout.split("rule ") if b.startswith("train:")]
    assert len(train) == len(ARCHS) * len(SEEDS)  # one per architecture and seed
    assert all("gres=gpu:1" in b and "slurm_partition=gpu" in b for b in train)


def test_other_architectures_and_seeds_multiply_the_jobs_the_same_way_in_both_tools(tmp_path):
    root = project(tmp_path / "project", dag_params(archs=["rnn1", "birnn1"], seeds=[1234, 7, 8]))
    snake, dvc = snakemake_jobs(root), dvc_stages(root)
    assert set(snake) == {cmd for cmd, stage in dvc.items() if stage["name"] not in LOAD_TIME}
    trains = [job for job in snake.values() if job["rule"] == "train"]
    assert len(trains) == 6
    assert {re.search(r"--seed (\d+)", job["cmd"]).group(1) for job in trains} == {"1234", "7", "8"}
    assert {re.search(r"--arch (\w+)", job["cmd"]).group(1) for job in trains} == {"rnn1", "birnn1"}
