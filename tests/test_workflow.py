"""The real tools end to end on the tiny archive: `snakemake --cores 2` and `dvc repro`.

Each runs in its own temporary copy of the project (a git repository with a local
identity, DVC analytics off), and the two must build the same prepared data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from imdb_rnn.data.dataset import load_split
from imdb_rnn.params_edit import set_params

from conftest import ROOT, TEST_PARAMS

BIN = Path(sys.executable).parent
PROJECT_FILES = ["Snakefile", "dvc.yaml", "workflow", "tools", "profiles", "src", ".dvc/config", ".dvcignore", ".gitignore"]
PROJECT_FILES += ["results/experiments"]  # committed experiments: the report stage reads them

pytestmark = pytest.mark.slow


def env(replace: bool = False) -> dict[str, str]:
    """The tools on PATH, DVC's analytics off; ``replace``: this tiny project's committed results
    are scratch, so a run in place of other params may replace them (imdb_rnn.pipeline.runs.guard)."""
    out = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1"}
    out.pop("IMDB_RNN_REPLACE_PUBLISHED", None)
    return {**out, "IMDB_RNN_REPLACE_PUBLISHED": "1"} if replace else out


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``cmd`` in ``cwd``; a failure, or ``timeout`` seconds without an end, fails the test with the tool's last words.

    The output goes to files, not pipes: a process the tool leaves running (the worker that
    ``dvc queue start`` forks keeps its stdout and stderr) would hold a pipe open, and a reader of
    pipes would wait for that process rather than for the tool."""

    def said(file) -> str:
        file.seek(0)
        return file.read().decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run(cmd, cwd=cwd, env=env(), stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=timeout)
        except subprocess.TimeoutExpired:  # the tool is killed; what it said so far is kept
            pytest.fail(f"{' '.join(cmd)} did not finish in {timeout:.0f} s:\n{said(out)[-3000:]}\n{said(err)[-3000:]}")
        result = subprocess.CompletedProcess(cmd, done.returncode, said(out), said(err))
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def run_queue(project: Path, seconds: float = 600) -> str:
    """Run the queued DVC experiments of ``project`` one at a time; their ``dvc queue status`` once none waits or runs.

    A queue still busy after ``seconds`` fails the test with its status, and no worker outlives the call.
    A worker gone while experiments still wait (treeverse/dvc#10562) is started again."""
    run(["dvc", "queue", "start", "-j", "1"], project, timeout=120)
    try:
        deadline, idle = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            status = run(["dvc", "queue", "status"], project, timeout=120).stdout
            if "Queued" not in status and "Running" not in status:
                return status
            idle = idle + 1 if "Running" not in status and "Worker status: 0 active, 0 idle" in status else 0
            if idle == 4:  # 20 s with work waiting and no worker: not a worker still starting
                run(["dvc", "queue", "start", "-j", "1"], project, timeout=120)
                idle = 0
            time.sleep(5)
        pytest.fail(f"the DVC queue was still busy after {seconds:.0f} s:\n{status}")
    finally:
        try:
            subprocess.run(
                ["dvc", "queue", "stop", "--kill"],
                cwd=project,
                env=env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            pass  # the test has already failed or passed; this only stops a worker left behind


def project_copy(dest: Path, archive: Path, sha: str) -> Path:
    dest.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, dest / name)
    shutil.copy(TEST_PARAMS, dest / "params.yaml")  # the tests' own, never the user's params.yaml
    set_params(
        dest / "params.yaml",
        {
            "data.url": str(archive),
            "data.sha256": sha,
            "data.vocab_size": "60",
            "train.epochs": "1",
            "embedding.min_count": "1",
            "embedding.epochs": "1",
            "train.seeds": "[1234]",
        },
    )
    run(["git", "init", "-q"], dest)
    run(["git", "config", "user.email", "test@example.invalid"], dest)
    run(["git", "config", "user.name", "test"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "tiny project"], dest)
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    archive = tmp_path_factory.mktemp("archive") / "tiny.tar.gz"
    from imdb_fixture import make_archive

    sha = str(make_archive(archive)["sha256"])
    base = tmp_path_factory.mktemp("projects")
    snake = project_copy(base / "snakemake", archive, sha)
    dvc = project_copy(base / "dvc", archive, sha)
    run(["snakemake", "--cores", "2"], snake)
    run(["dvc", "repro"], dvc)
    return snake, dvc


def test_both_tools_build_the_same_prepared_data(built):
    snake, dvc = built
    for name in ("train", "valid", "test"):
        a, b = load_split(snake / f"data/prepared/{name}.npz"), load_split(dvc / f"data/prepared/{name}.npz")
        assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.ids, b.ids)
    assert (snake / "data/prepared/tokenizer.json").read_bytes() == (dvc / "data/prepared/tokenizer.json").read_bytes()
    assert np.array_equal(np.load(snake / "data/embeddings/embedding.npy"), np.load(dvc / "data/embeddings/embedding.npy"))
    strip = lambda s: {k: v for k, v in s.items() if k != "seconds"}  # noqa: E731
    stats = [json.loads((p / "results/data/stats.json").read_text()) for p in built]
    assert strip(stats[0]) == strip(stats[1])


def test_both_tools_write_every_contract_output(built):
    for project in built:
        for arch in ("bilstm2", "birnn2", "birnn1", "rnn1"):
            metrics = json.loads((project / f"results/metrics/{arch}.json").read_text())
            assert {
                "test_acc",
                "test_loss",
                "valid_acc",
                "valid_loss",
                "rnn_params",
                "total_params",
                "epochs",
                "train_seconds",
                "train_tokens_per_second",
            } <= set(metrics)
            assert metrics["epochs"] == 1 and 0.0 <= metrics["test_acc"] <= 1.0
            history = (project / f"results/history/{arch}.csv").read_text().splitlines()
            assert history[0].startswith("epoch,train_loss,train_acc,valid_loss,valid_acc,seconds,grad_norm_mean,") and len(history) == 2
            assert (project / f"results/models/{arch}.txt").read_text().startswith(("MyRNN(", "biRNN_2(", "biRNN_1(", "RNN_1("))
        summary = json.loads((project / "results/summary.json").read_text())
        assert summary["bilstm2"]["n"] == 1
        verification = json.loads((project / "results/triplet/verification.json").read_text())
        assert set(verification["q5"]) == {f"L{i}" for i in range(1, 9)}
        assert (project / "report/report.md").read_text().startswith("# Assignment2 Report")
        assert (project / "report/report.tex").exists()


def test_dvc_is_up_to_date_after_repro(built):
    _, dvc = built
    status = run(["dvc", "status", "--json"], dvc)
    assert json.loads(status.stdout or "{}") == {}


def test_snakemake_has_nothing_left_to_do(built):
    snake, _ = built
    result = run(["snakemake", "--cores", "2", "--dry-run"], snake)
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("tool", "cmd", "refusal"),
    [
        ("snakemake", ["snakemake", "--cores", "1", "--forcerun", "gradcheck", "--", "results/triplet/verification.json"], ("cannot be locked",)),
        # DVC refuses through its repository lock or, once the stage runs, its output's rwlock.
        ("dvc", ["dvc", "repro", "--force", "--single-item", "gradcheck"], ("unable to acquire lock", "is busy")),
    ],
)
def test_a_second_run_at_once_is_refused_and_nothing_is_corrupted(built, tool, cmd, refusal):
    project = built[0] if tool == "snakemake" else built[1]
    first = subprocess.Popen(cmd, cwd=project, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Start the second run once the first is inside gradcheck (~10 s): Snakemake has written its
    # lock files by then, and DVC has removed the stage's output to rebuild it.
    locks, output = project / ".snakemake/locks", project / "results/triplet/verification.json"
    started = (lambda: locks.exists() and any(locks.iterdir())) if tool == "snakemake" else (lambda: not output.exists())
    while first.poll() is None and not started():
        time.sleep(0.02)
    assert first.poll() is None, "the first run ended before the second could start"
    second = subprocess.run(cmd, cwd=project, env=env(), capture_output=True, text=True)
    first_output = first.communicate()[0]
    assert first.returncode == 0, first_output
    assert second.returncode != 0
    assert any(phrase in (second.stdout + second.stderr).lower() for phrase in refusal)
    verification = json.loads((project / "results/triplet/verification.json").read_text())
    assert verification["all_numeric_checks_passed"] is True


def test_dvc_push_then_pull_into_an_empty_cache_restores_every_output(built):
    _, dvc = built
    before = {p: p.read_bytes() for p in [dvc / "data/prepared/train.npz", dvc / "data/embeddings/embedding.npy", dvc / "models/bilstm2/seed1234.pt"]}
    run(["dvc", "push"], dvc)
    assert any((dvc / "dvc-storage").rglob("*")), "the default remote (dvc-storage/) received nothing"
    for folder in (".dvc/cache", "data", "models"):
        shutil.rmtree(dvc / folder)
    run(["dvc", "pull"], dvc)
    assert {p: p.read_bytes() for p in before} == before
    status = run(["dvc", "status", "--json"], dvc)
    assert json.loads(status.stdout or "{}") == {}


def test_dvc_plots_draw_train_and_validation_curves(built):
    _, dvc = built
    plots = json.loads(run(["dvc", "plots", "show", "--json"], dvc).stdout)["data"]
    # one chart per architecture, read from the history folder (so it follows train.archs)
    assert set(plots) == {f"results/history/{arch}.csv" for arch in ("bilstm2", "birnn2", "birnn1", "rnn1")}
    for chart in plots.values():
        drawn = {row["field"] for row in chart[0]["content"]["data"]["values"]}
        assert drawn == {"train_loss", "valid_loss", "train_acc", "valid_acc"}


def test_dvc_exp_run_and_exp_show_compare_accuracy_per_architecture(built):
    _, dvc = built
    run(["git", "add", "-A"], dvc)
    run(["git", "commit", "-qm", "baseline results"], dvc)
    # in place, a change is refused once results are committed (the guard); --temp runs it in a copy
    recipe = (dvc / "params.yaml").read_text()
    refused = subprocess.run(["dvc", "exp", "run", "-n", "lr-refused", "-S", "train.lr=0.01"], cwd=dvc, env=env(), capture_output=True, text=True)
    assert refused.returncode != 0 and "dvc exp run --temp" in refused.stdout + refused.stderr
    # -S wrote the value before the refusal, keeping the file's size and time: git sees no change, so write it back
    (dvc / "params.yaml").write_text(recipe)
    run(["dvc", "repro", "preflight"], dvc)  # the refused check removed its own record
    run(["dvc", "exp", "run", "--temp", "-n", "lr-high", "-S", "train.lr=0.01"], dvc)
    (dvc / "params.yaml").write_text(recipe)  # -S writes the workspace's params.yaml even with --temp
    shown = json.loads(run(["dvc", "exp", "show", "--json"], dvc).stdout)
    experiments = [exp for commit in shown for exp in (commit.get("experiments") or [])]
    names = [e["name"] for e in experiments]
    assert "lr-high" in names
    data = next(e for e in experiments if e["name"] == "lr-high")["revs"][0]["data"]
    assert data["params"]["params.yaml"]["data"]["train"]["lr"] == 0.01
    accuracy = data["metrics"]["results/accuracy.json"]["data"]
    assert set(accuracy) == {"bilstm2", "birnn2", "birnn1", "rnn1"}
    assert all(0.0 <= accuracy[arch]["test_acc"] <= 1.0 for arch in accuracy)


def test_dvc_queue_runs_a_small_sweep(built):
    _, dvc = built
    run(["git", "add", "-A"], dvc)
    run(["git", "commit", "-qm", "before the sweep", "--allow-empty"], dvc)
    for lr in ("0.003", "0.03"):
        run(["dvc", "exp", "run", "--queue", "-S", f"train.lr={lr}"], dvc)
    status = run_queue(dvc)
    assert status.count("Success") == 2, status
    shown = json.loads(run(["dvc", "exp", "show", "--json"], dvc).stdout)
    rates = {exp["revs"][0]["data"]["params"]["params.yaml"]["data"]["train"]["lr"] for commit in shown for exp in (commit.get("experiments") or [])}
    assert {0.003, 0.03} <= rates


def _report_browser(user_data: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Headless Chromium as root on a machine with no network but loopback (see docs/maintaining.md, Tests).
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900", f"--user-data-dir={user_data}"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _shown_text(browser) -> str:
    """The page's text, and that of the frames the report shows an item in."""
    from selenium.webdriver.common.by import By

    texts = [browser.find_element(By.TAG_NAME, "body").text]
    for frame in browser.find_elements(By.TAG_NAME, "iframe"):
        browser.switch_to.frame(frame)
        texts.append(browser.find_element(By.TAG_NAME, "body").text)
        browser.switch_to.default_content()
    return "\n".join(texts)


@pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)
def test_snakemake_html_report_shows_the_figures_and_tables_in_a_browser(built, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    snake, _ = built
    run(["snakemake", "--report", "report/snakemake-report.html"], snake)
    page = snake / "report/snakemake-report.html"
    browser = _report_browser(tmp_path / "chromium")
    try:

        def open_item(category: str, subcategory: str, name: str) -> None:
            browser.get(page.as_uri())  # from the start page: Results > category > subcategory
            time.sleep(1)
            for label in (category, subcategory):
                # A category with one subcategory lists its items at once.
                for link in browser.find_elements(By.XPATH, f"//*[normalize-space(text())='{label}']")[:1]:
                    link.click()
                    time.sleep(0.5)
            row = browser.find_element(By.XPATH, f"//tr[td[contains(text(), '{name}')]]")
            row.find_element(By.XPATH, ".//a").click()  # the eye: show the item
            time.sleep(1)

        open_item("Part 3", "Figures", "learning_curves.png")  # Part 3, "Beyond the original" (src/imdb_rnn/report/registry.py)
        figures = [img for img in browser.find_elements(By.TAG_NAME, "img") if (img.get_attribute("src") or "").startswith("data:image/png")]
        assert figures and browser.execute_script("return arguments[0].naturalWidth", figures[0]) > 100
        browser.save_screenshot(str(tmp_path / "figure.png"))
        colours = Image.open(tmp_path / "figure.png").convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50, "the figure page rendered blank"

        open_item("Part 1", "Tables", "table1.html")
        assert "2-level bi-LSTM" in _shown_text(browser) and "1,446,400" in _shown_text(browser)
        open_item("Part 2", "Tables", "part2_checks.html")
        assert "published answers that agree with the derivation" in _shown_text(browser)
    finally:
        browser.quit()


# --------------------------------------------------------------------------- safety
# These run last: they change the built projects.


def _hostile_params(project: Path, arch_id: str) -> None:
    import yaml

    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["models"][arch_id] = raw["models"]["rnn1"]
    raw["train"]["archs"] = ["rnn1", arch_id]
    (project / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def _hostile_seed(project: Path, seed: str) -> None:
    import yaml

    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["train"]["seeds"] = [1234, seed]
    (project / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


@pytest.mark.parametrize("value", ["arch id", "seed"])
@pytest.mark.parametrize("tool", ["snakemake", "dvc"])
def test_a_hostile_params_value_never_reaches_a_shell(tmp_path, tiny_archive, tool, value):
    archive, sha = tiny_archive
    project = project_copy(tmp_path / "project", archive, sha)
    marker = tmp_path / "injected"
    if value == "arch id":
        _hostile_params(project, f"rnn1`touch {marker}`")
    else:
        _hostile_seed(project, f"1`touch {marker}`")
    cmd = ["snakemake", "--cores", "1"] if tool == "snakemake" else ["dvc", "repro"]
    done = subprocess.run(cmd, cwd=project, env=env(), capture_output=True, text=True)
    assert done.returncode != 0
    expected = "is not a plain identifier" if value == "arch id" else "train.seeds.1: input should be a valid integer"
    assert expected in done.stdout + done.stderr
    assert not marker.exists(), "a params value ran as a shell command"
    assert not (project / "models").exists() and not (project / "results/runs").exists()


def _snapshot(project: Path) -> dict[str, bytes]:
    files = [project / "models/rnn1/seed1234.pt", project / "report/report.pdf", project / "report/report.md"]
    files += sorted((project / "results/runs").rglob("*.*"))
    return {str(path.relative_to(project)): path.read_bytes() for path in files}


def test_a_failed_rerun_keeps_the_previous_results(built):
    """Refused before training (preflight: no GPU for train.device: cuda), and failing inside
    the training jobs (an unusable embedding), under both tools: every earlier result stays."""
    snake, dvc = built
    for project in built:
        before = _snapshot(project)
        original = (project / "params.yaml").read_text()
        set_params(project / "params.yaml", {"train.device": "cuda"})
        cmd = ["snakemake", "--cores", "2"] if project == snake else ["dvc", "repro"]
        refused = subprocess.run(cmd, cwd=project, env=env(replace=True), capture_output=True, text=True)
        assert refused.returncode != 0
        # Snakemake prints the failed job's log (profiles/default): the cause is on the console.
        assert "train.device is cuda but no CUDA GPU is visible" in refused.stdout + refused.stderr
        assert _snapshot(project) == before
        (project / "params.yaml").write_text(original)
        if project == dvc:  # DVC's refused check removed its own record, nothing else; it passes again
            run(["dvc", "repro", "preflight"], project)

    embedding = snake / "data/embeddings/embedding.npy"
    kept, stamp = embedding.read_bytes(), embedding.stat()
    broken = np.load(embedding)
    broken[0, 0] = np.nan
    np.save(embedding, broken)
    before = _snapshot(snake)
    failed = subprocess.run(
        ["snakemake", "--cores", "2", "--", "results/runs/rnn1/seed1234/metrics.json"],
        cwd=snake,
        env=env(replace=True),
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0 and "holds NaN or infinite values" in failed.stdout + failed.stderr
    assert _snapshot(snake) == before
    embedding.write_bytes(kept)
    os.utime(embedding, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))

    embedding = dvc / "data/embeddings/embedding.npy"
    kept = embedding.read_bytes()
    embedding.unlink()  # a DVC link into the cache: replace it, never write through it
    np.save(embedding, broken)
    before = _snapshot(dvc)
    failed = subprocess.run(["dvc", "repro", "--single-item", "train@rnn1-1234"], cwd=dvc, env=env(replace=True), capture_output=True, text=True)
    assert failed.returncode != 0 and "holds NaN or infinite values" in failed.stdout + failed.stderr
    assert _snapshot(dvc) == before
    embedding.unlink()
    embedding.write_bytes(kept)


def test_without_latex_both_tools_finish_and_dvc_records_the_experiment(built, tmp_path):
    """A PATH with everything but LaTeX: the PDF is set plain with a note, nothing fails."""
    shadow = tmp_path / "bin"
    shadow.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not Path(folder).is_dir() or Path(folder) == BIN:
            continue
        for tool in Path(folder).iterdir():
            if tool.name not in ("latexmk", "pdflatex") and not (shadow / tool.name).exists():
                (shadow / tool.name).symlink_to(tool)
    no_tex = {**env(replace=True), "PATH": f"{BIN}{os.pathsep}{shadow}"}
    _, dvc = built
    done = subprocess.run(["dvc", "exp", "run", "-n", "no-latex", "-S", "report.title=No LaTeX"], cwd=dvc, env=no_tex, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shown = json.loads(run(["dvc", "exp", "show", "--json"], dvc).stdout)
    assert "no-latex" in [exp["name"] for commit in shown for exp in (commit.get("experiments") or [])]
    pdf = dvc / "report/report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Set as plain text: LaTeX was not installed" in text and "No LaTeX" in text


def test_a_params_file_that_is_not_utf8_is_one_line_under_snakemake(tmp_path, tiny_archive):
    archive, sha = tiny_archive
    project = project_copy(tmp_path / "project", archive, sha)
    (project / "params.yaml").write_bytes((project / "params.yaml").read_bytes() + b"# caf\xe9\n")
    done = subprocess.run(["snakemake", "--cores", "1", "--dry-run"], cwd=project, env=env(), capture_output=True, text=True)
    assert done.returncode != 0
    assert "params.yaml: not UTF-8 text (byte 0xe9 at offset" in done.stderr
    assert "Traceback" not in done.stderr


def test_one_snakemake_run_after_a_params_edit_brings_everything_up_to_date(built):
    """A params edit that reaches only the report reruns the report in the same run (a
    gating rule with an ancient() output once hid every job after it for one run)."""
    snake, _ = built
    original = (snake / "params.yaml").read_text()
    set_params(snake / "params.yaml", {"report.title": "Edited Title"})
    try:
        run(["snakemake", "--cores", "2"], snake)
        assert (snake / "report/report.md").read_text().startswith("# Edited Title")
        result = run(["snakemake", "--cores", "2", "--dry-run"], snake)
        assert "Nothing to be done" in result.stdout + result.stderr
    finally:
        (snake / "params.yaml").write_text(original)


def test_a_command_that_hangs_fails_the_test_naming_it(tmp_path):
    """A tool that never ends (a stuck queue worker, a lock never released) fails its test in time, not the whole run."""
    with pytest.raises(pytest.fail.Exception, match=r"sleep 30 did not finish in 1 s"):
        run(["sleep", "30"], tmp_path, timeout=1)


def test_a_process_the_command_leaves_running_does_not_hold_it(tmp_path):
    """As `dvc queue start` leaves its worker: the command's own end is what `run` waits for."""
    child = int(run(["sh", "-c", "sleep 60 & echo $!"], tmp_path, timeout=20).stdout)
    os.kill(child, 15)
