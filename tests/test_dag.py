"""One DAG, two tools: the Snakefile and dvc.yaml must run the same stages the same way.

Compared per job: the shell command (less Snakemake's log redirection and the per-job
thread count), the inputs (DVC deps), the outputs, and the params keys each stage reads.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_rnn.config import load_params

from conftest import ROOT

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
# The one deliberate difference: DVC runs imdb_rnn/checks/preflight.py as a stage that every train
# stage depends on; Snakemake runs the same checks when it reads the workflow (common.smk).
PREFLIGHT_STAGE, PREFLIGHT_OUTPUT = "preflight", "results/preflight.json"


def _normalise(cmd: str) -> str:
    cmd = re.sub(r"\s*(?:> \S+ 2>&1|2>&1 \| tee \S+)\s*$", "", cmd.strip())
    cmd = re.sub(r"--threads \d+", "--threads N", cmd)
    cmd = re.sub(r"--max-threads (?:\d+|auto)", "--max-threads N", cmd)
    return " ".join(cmd.split())


def snakemake_jobs(root: Path) -> dict[str, dict]:
    result = subprocess.run(
        [str(SNAKEMAKE), "--dry-run", "--forceall", "--printshellcmds", "--cores", "2"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    jobs, current = {}, None
    for line in result.stdout.splitlines():
        if match := re.match(r"^rule (\w+):$", line):
            current = {"rule": match.group(1), "input": set(), "output": set(), "wildcards": ""}
        elif current is None:
            continue
        elif match := re.match(r"^\s+(input|output|wildcards): (.*)$", line):
            key, value = match.groups()
            # Snakemake marks flagged files, e.g. "… (update)", "… (ancient)": the paths are compared.
            current[key] = value if key == "wildcards" else {re.sub(r" \(\w+\)$", "", v) for v in value.split(", ")}
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
            if stage.name == PREFLIGHT_STAGE:
                continue
            # DVC lists no keys when a stage depends on the whole params file; Snakemake says "*".
            params = sorted(k for dep in stage.deps if hasattr(dep, "params") for k in (dep.params or ["*"]))
            deps = {str(dep.def_path) for dep in stage.deps if not hasattr(dep, "params")} - {PREFLIGHT_OUTPUT}
            stages[_normalise(stage.cmd)] = {
                "name": stage.name,
                "deps": deps,
                "outs": {str(out.def_path) for out in stage.outs},
                "params": params,
            }
    return stages


def snakemake_param_keys(root: Path) -> dict[str, list[str]]:
    text = (root / "workflow/rules/common.smk").read_text()
    block = re.search(r"^PARAM_KEYS = (\{.*?^\})", text, flags=re.S | re.M).group(1)
    return ast.literal_eval(block)


@pytest.fixture(scope="module")
def both():
    return snakemake_jobs(ROOT), dvc_stages(ROOT)


def test_same_commands(both):
    snake, dvc = both
    assert set(snake) == set(dvc)
    assert len(dvc) >= 8


def test_same_stage_names(both):
    snake, dvc = both
    for cmd, job in snake.items():
        assert dvc[cmd]["name"].split("@")[0] == job["rule"]


def test_same_inputs_and_outputs(both):
    snake, dvc = both
    for cmd, job in snake.items():
        deps, outs = dvc[cmd]["deps"], dvc[cmd]["outs"]
        # A folder DVC tracks stands for the files Snakemake lists inside it.
        inputs = {next((d for d in deps if path.startswith(d + "/")), path) for path in job["input"]}
        outputs = {next((o for o in outs if path.startswith(o + "/")), path) for path in job["output"]}
        assert inputs == deps, job["rule"]
        assert outputs == outs, job["rule"]


def test_same_params_keys(both):
    _, dvc = both
    keys = snakemake_param_keys(ROOT)
    for stage in dvc.values():
        assert stage["params"] == sorted(keys[stage["name"].split("@")[0]]), stage["name"]


def test_snakemake_lint_is_clean():
    result = subprocess.run([str(SNAKEMAKE), "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_snakefmt_has_nothing_to_change():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    result = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/rules"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_slurm_profile_plans_every_job_with_a_gpu_for_training():
    result = subprocess.run([str(SNAKEMAKE), "--profile", "profiles/slurm", "--dry-run", "--forceall"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    blocks = result.stdout.split("rule ")
    train = [b for b in blocks if b.startswith("train:")]
    project = load_params(ROOT / "params.yaml").train
    assert len(train) == len(project.archs) * len(project.all_seeds)  # one per architecture and seed
    assert all("gres=gpu:1" in b and "slurm_partition=gpu" in b for b in train)


def test_seeds_multiply_the_training_jobs_the_same_way_in_both_tools(tmp_path):
    import shutil

    from imdb_rnn.params_edit import set_params

    for name in ("Snakefile", "dvc.yaml", "params.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in ("workflow", "src", ".dvc"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "cache", "tmp"))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    set_params(tmp_path / "params.yaml", {"train.seeds": "[1234, 7, 8]"})
    snake, dvc = snakemake_jobs(tmp_path), dvc_stages(tmp_path)
    assert set(snake) == set(dvc)
    trains = [job for job in snake.values() if job["rule"] == "train"]
    assert len(trains) == 12
    assert {re.search(r"--seed (\d+)", job["cmd"]).group(1) for job in trains} == {"1234", "7", "8"}
