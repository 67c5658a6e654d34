"""The stage table's own checks: generated files that go stale, dependencies that are not
declared, the Snakemake refusals' exit status, params text with braces, one run at a time
in a folder, and where a queued experiment finds the project's files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imdb_rnn.errors import EXIT_USER_ERROR, UserError
from imdb_rnn.pipeline.dvcrecord import dvc_stages
from imdb_rnn.pipeline.stages import STAGES, stage
from imdb_rnn.pipeline.workspace import Workspace, project_path, project_root

from conftest import ROOT, load_script
from test_dag import dag_params, project

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
GENERATED_FROM = ["src", "workflow/scripts", "workflow/report", "dvc.yaml", "pyproject.toml", "requirements/lock.txt"]


@pytest.fixture
def generate():
    return load_script("generate")


def _tree(dest: Path) -> Path:
    for name in GENERATED_FROM:
        source, target = ROOT / name, dest / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    return dest


def test_the_committed_generated_files_are_current(generate):
    assert generate.check(ROOT, ["dvc", "captions", "lock"]) == [], "run: make generated"


def test_check_generated_fails_on_a_stale_dvc_yaml_and_generate_fixes_it(generate, tmp_path, capsys):
    root = _tree(tmp_path / "project")
    assert generate.main(["--check", "--root", str(root), "dvc", "captions"]) is None
    dvc_yaml = root / "dvc.yaml"
    text = dvc_yaml.read_text(encoding="utf-8")
    dvc_yaml.write_text(text.replace("      - src/imdb_rnn/train/training.py\n", "", 1), encoding="utf-8")
    (root / "workflow/report/table1.rst").write_text("an old caption\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stale:
        generate.main(["--check", "--root", str(root), "dvc", "captions"])
    assert stale.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "dvc.yaml: stale; run `make generated` and commit it",
        "workflow/report/table1.rst: stale; run `make generated` and commit it",
    ]
    generate.main(["--root", str(root), "dvc", "captions"])
    assert dvc_yaml.read_text(encoding="utf-8") == text
    generate.main(["--check", "--root", str(root), "dvc", "captions"])


def test_an_import_pyproject_does_not_declare_and_a_declared_package_the_lock_lacks_are_named(generate, tmp_path):
    root = _tree(tmp_path / "project")
    (root / "tests").mkdir()
    (root / "tests/conftest.py").write_text("")
    (root / "tests/test_x.py").write_text("import selenium\nimport conftest\n")  # a test extra and a local module: fine
    (root / "src/imdb_rnn/extra.py").write_text("import scipy.stats\nimport selenium\n")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "scipy>=1.11",\n', '    "nowhere-pkg>=1",\n'))
    assert generate.dependency_problems(root) == [
        "pyproject.toml: src/imdb_rnn/extra.py imports scipy (scipy), not in [project] dependencies",
        "pyproject.toml: src/imdb_rnn/extra.py imports selenium (selenium), not in [project] dependencies",
        "requirements/lock.txt: nowhere-pkg (pyproject.toml) is not pinned; run `make lock`",
    ]


def test_the_dvc_yaml_plots_read_the_history_folder_so_they_follow_train_archs():
    from imdb_rnn.pipeline.dvcyaml import dvc_yaml

    text = dvc_yaml(ROOT)
    plots = text.split("\nplots:\n", 1)[1]
    assert plots.startswith("  - results/history:\n") and "bilstm2" not in plots
    assert "foreach: ${train.archs}" in text and "arch: ${train.archs}" in text and "seed: ${train.seeds}" in text


def test_a_command_is_the_same_in_both_tools_but_for_wildcards_and_threads():
    train = stage("train")
    dvc, snake = train.command("dvc"), train.command("snakemake", primary_seed=1234)
    assert dvc.startswith("python workflow/scripts/train.py --params params.yaml --arch ${item.arch} --seed ${item.seed} ")
    assert snake.startswith("python workflow/scripts/train.py --params params.yaml --arch {wildcards.arch} --seed {wildcards.seed} ")
    assert dvc.endswith("--threads 1 --max-threads auto") and snake.endswith("--threads {threads} --max-threads {params.max_threads}")
    assert stage("diagnose").command("dvc").split("--checkpoint ")[1].startswith("models/${item}/seed${train.seed}.pt ")
    assert stage("diagnose").command("snakemake", primary_seed=7).split("--checkpoint ")[1].startswith("models/{wildcards.arch}/seed7.pt ")
    assert [s.name for s in STAGES] == ["preflight", "download", "prepare", "embed", "train", "gradcheck", "diagnose", "summarize", "report", "pdf"]


def test_snakemake_jobs_map_to_their_dvc_stages():
    jobs = [
        ("train", {"arch": "rnn1", "seed": "7"}),
        ("all", {}),
        ("diagnose", {"arch": "rnn1"}),
        ("download", {}),
        ("train", {"arch": "a", "seed": "1"}),
    ]
    assert dvc_stages(jobs) == ["preflight", "download", "train@a-1", "train@rnn1-7", "diagnose@rnn1"]
    assert dvc_stages([("verify", {})]) == []


# --------------------------------------------------------------------------- Snakemake's refusals


@pytest.fixture(scope="module")
def dag_copy(tmp_path_factory) -> Path:
    return project(tmp_path_factory.mktemp("refusals") / "project", dag_params())


def _snakemake_dry_run(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SNAKEMAKE), "--dry-run", "--cores", "1", *extra], cwd=root, capture_output=True, text=True)


@pytest.mark.parametrize("author", ["Ao {Peng}", "{0}", "\\textbf{x}", "}{"])
def test_braces_in_printed_text_are_text_to_snakemake(tmp_path, author):
    params = dag_params()
    params["report"]["author"] = author
    done = _snakemake_dry_run(project(tmp_path / "project", params))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "rule report:" in done.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--config", "report={title: x}"), "error: --config/--configfile overrides are not supported"),
        ((), "error: params.yaml: train.archs: unknown architecture 'nope'"),
    ],
)
def test_a_snakemake_refusal_is_one_line_and_exit_status_2(tmp_path, extra, message):
    params = dag_params()
    if not extra:
        params["train"]["archs"] = ["nope"]
    done = _snakemake_dry_run(project(tmp_path / "project", params), *extra)
    assert done.returncode == EXIT_USER_ERROR, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message), done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- one run at a time


def _dvc_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".dvc" / "tmp").mkdir(parents=True)
    return root


def _holder(code: str) -> subprocess.Popen:
    """A process that runs ``code`` and then waits until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", code + "\nprint('ready', flush=True)\nimport sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def test_a_live_dvc_command_in_the_rwlock_refuses_the_run_and_a_dead_one_does_not(tmp_path):
    import json

    root = _dvc_project(tmp_path)
    dvc = _holder("")
    try:
        (root / ".dvc/tmp/rwlock").write_text(json.dumps({"read": {str(root / "data"): [{"pid": dvc.pid, "cmd": "/x/.venv/bin/dvc repro"}]}}))
        with pytest.raises(UserError, match=rf"^this workspace is busy: `dvc repro` \(pid {dvc.pid}\) is running in it; wait for it to end"):
            Workspace(root).take("snakemake --cores 2")
    finally:
        dvc.stdin.close()
        dvc.wait()
    held = Workspace(root)
    held.take("snakemake --cores 2")  # the same entry, its process gone: ignored, as DVC ignores it
    table = json.loads((root / ".dvc/tmp/rwlock").read_text())
    assert table["write"][str(root.resolve())]["pid"] == os.getpid()
    held.leave()
    assert json.loads((root / ".dvc/tmp/rwlock").read_text())["write"] == {}


def test_dvc_holding_its_repository_lock_refuses_the_run(tmp_path):
    root = _dvc_project(tmp_path)
    dvc = _holder(f"import zc.lockfile\nlock = zc.lockfile.LockFile({str(root / '.dvc/tmp/lock')!r})")
    try:
        with pytest.raises(UserError, match=rf"^this workspace is busy: a `dvc` command \(pid {dvc.pid}\) is running in it"):
            Workspace(root).take("snakemake --cores 2")
    finally:
        dvc.stdin.close()
        dvc.wait()
    assert not (root / ".dvc/tmp/rwlock").exists() or "write" not in (root / ".dvc/tmp/rwlock").read_text()


def test_a_held_workspace_stops_dvc_before_it_touches_a_file(tmp_path):
    """DVC's own check, as `dvc repro` makes it before a stage, meets the Snakemake run's entry."""
    root = _dvc_project(tmp_path)
    check = (
        "from dvc.fs import localfs\nfrom dvc.rwlock import rwlock\n"
        f"with rwlock({str(root / '.dvc/tmp')!r}, localfs, 'dvc repro', [], [{str(root / 'results/x.json')!r}], False): pass"
    )
    held = Workspace(root)
    held.take("snakemake --cores 2")
    try:
        done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    finally:
        held.leave()
    assert done.returncode != 0
    assert f"(PID {os.getpid()}): snakemake --cores 2 (a Snakemake run holds this workspace until it ends)" in done.stderr
    free = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert free.returncode == 0, free.stderr  # free again once the run has left


def test_a_project_without_dvc_is_taken_without_a_word(tmp_path):
    held = Workspace(tmp_path)
    held.take("snakemake")
    held.leave()
    assert not (tmp_path / ".dvc").exists()


# --------------------------------------------------------------------------- where the project is


def test_a_queued_experiment_copy_finds_the_project_it_copied(tmp_path, monkeypatch):
    copy = tmp_path / "proj" / ".dvc" / "tmp" / "exps" / "tmpab12" / "sub"
    copy.mkdir(parents=True)
    assert project_root(copy) == (tmp_path / "proj").resolve()
    assert project_root(copy.parent) == (tmp_path / "proj").resolve()
    assert project_root(tmp_path / "proj") == (tmp_path / "proj").resolve()
    monkeypatch.chdir(copy.parent)
    assert project_path("../shared/a.tar.gz") == str((tmp_path / "proj").resolve() / "../shared/a.tar.gz")
    assert project_path("/abs/a.tar.gz") == "/abs/a.tar.gz"
    assert project_path("https://example.invalid/a.tar.gz") == "https://example.invalid/a.tar.gz"
