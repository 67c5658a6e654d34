"""Fault injection: real kills, concurrent runs and failing writes.

The other faults of the table in docs/reliability.md are tested beside the code they
concern (test_download, test_prepare, test_config, test_training, test_report); this module
holds the ones that need a real process, a second run or a failing disk.
"""

from __future__ import annotations

import errno
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from imdb_rnn import fileio
from imdb_rnn.data.dataset import EncodedSplit, save_split
from imdb_rnn.data.vocab import build_tokenizer, encode
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import atomic_path, write_json

from conftest import ROOT, TIMING_KEYS

PARAMS_YAML = """\
embedding: {init: random, dim: 16}
train: {archs: [small], epochs: 6, seed: 5, seeds: [5], batch_size: 16, lr: 0.01, device: cpu}
models:
  small:
    {class_name: SmallLSTM, title: small bi-LSTM, cell: lstm, embedding_dim: 16, hidden_dim: 32, num_layers: 2, bidirectional: true, dropout: 0.2}
"""


def _reviews(n: int, seed: int) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(60)]
    texts, labels = [], []
    for i in range(n):
        cue = "good" if i % 2 else "bad"
        texts.append(" ".join(cue if rng.random() < 0.2 else rng.choice(words) for _ in range(rng.integers(20, 60))))
        labels.append(i % 2)
    return texts, labels


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """Prepared data big enough that an epoch lasts a good fraction of a second."""
    folder = tmp_path_factory.mktemp("kill")
    texts, labels = _reviews(600, 1)
    tok = build_tokenizer(texts, max_size=100)
    prepared = folder / "prepared"
    prepared.mkdir()
    tok.save(str(prepared / "tokenizer.json"))
    for name, (t, y) in {"train": (texts, labels), "valid": _reviews(100, 2), "test": _reviews(100, 3)}.items():
        save_split(prepared / f"{name}.npz", EncodedSplit.from_lists(encode(tok, t), y, range(len(t)), [1] * len(t)))
    (folder / "params.yaml").write_text(PARAMS_YAML)
    return folder


def _train_cmd(folder: Path, run: str) -> list[str]:
    out = folder / run
    return [
        sys.executable,
        str(ROOT / "workflow/scripts/train.py"),
        "--params",
        str(folder / "params.yaml"),
        "--arch",
        "small",
        "--data",
        str(folder / "prepared"),
        "--checkpoint",
        str(out / "model.pt"),
        "--resume",
        str(out / "resume.pt"),
        "--metrics",
        str(out / "metrics.json"),
        "--history",
        str(out / "history.csv"),
        "--structure",
        str(out / "model.txt"),
        "--predictions",
        str(out / "predictions.csv.gz"),
        "--threads",
        "1",
    ]


def _metrics(folder: Path, run: str) -> dict:
    metrics = json.loads((folder / run / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k not in TIMING_KEYS}


def test_sigkill_mid_training_then_rerun_equals_an_uninterrupted_run(workdir):
    subprocess.run(_train_cmd(workdir, "straight"), check=True, capture_output=True)

    killed = subprocess.Popen(_train_cmd(workdir, "killed"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resume = workdir / "killed" / "resume.pt"
    deadline = time.monotonic() + 120
    while not resume.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert killed.poll() is None, "training finished before it could be killed; make the fixture bigger"
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert resume.exists() and not (workdir / "killed" / "metrics.json").exists()
    assert not [p for p in (workdir / "killed").iterdir() if p.name.startswith(".")], "a temporary file was left behind"

    rerun = subprocess.run(_train_cmd(workdir, "killed"), capture_output=True, text=True, check=True)
    assert "resuming small after epoch" in rerun.stdout
    assert _metrics(workdir, "killed") == _metrics(workdir, "straight")
    assert (workdir / "killed" / "history.csv").read_text().count("\n") == 7


def test_failed_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    write_json(target, {"test_acc": 0.9})

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", no_space)
    with pytest.raises(UserError, match=rf"^no space left on {tmp_path} \(writing metrics.json\); free some space there and rerun$"):
        write_json(target, {"test_acc": 0.1})
    assert json.loads(target.read_text()) == {"test_acc": 0.9}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]

    def read_only(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fileio.os, "replace", read_only)
    with pytest.raises(UserError, match=r"cannot write .*metrics.json: Permission denied; check that its folder is writable and has space"):
        write_json(target, {"test_acc": 0.1})


def test_write_interrupted_by_an_exception_leaves_nothing(tmp_path):
    target = tmp_path / "sub" / "data.npz"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert list((tmp_path / "sub").iterdir()) == []


def test_unwritable_output_folder_is_one_clear_line(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(UserError, match=r"cannot write .*results/metrics.json: .*check that its folder is writable"):
        write_json(blocker / "metrics.json", {})


def test_outputs_get_ordinary_permissions(tmp_path):
    write_json(tmp_path / "m.json", {})
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o666 & ~fileio._UMASK


# A stage that is writing an output when the signal comes: it prints "ready" once inside atomic_path.
SLOW_WRITE = """
import sys, time
from imdb_rnn.errors import run_cli
from imdb_rnn.fileio import atomic_path

def main(argv):
    with atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"half written")
        print("ready", flush=True)
        time.sleep(120)

raise SystemExit(run_cli(main))
"""


def _killed_mid_write(target: Path, sig: signal.Signals) -> subprocess.CompletedProcess:
    """Run SLOW_WRITE on ``target``, send ``sig`` once it is writing, return how it ended."""
    process = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.")], "the write has no temporary file"
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_sigterm_mid_write_removes_the_temporary_file_and_says_so(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("the earlier complete file")
    ended = _killed_mid_write(target, signal.SIGTERM)
    assert ended.returncode == 143
    assert ended.stderr == "error: terminated; rerun the same command to continue\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    assert target.read_text() == "the earlier complete file"


def test_the_next_write_removes_what_a_killed_write_left_and_nothing_else(tmp_path):
    target = tmp_path / "metrics.json"
    assert _killed_mid_write(target, signal.SIGKILL).returncode == -signal.SIGKILL
    (stale,) = [p for p in tmp_path.iterdir() if p.name.startswith(".metrics.json.")]
    assert stale.read_bytes() == b"half written"
    others = [".metrics.json.backup", ".metrics.json.abcdefgh.tmp.keep", ".metrics.json.abcdefghi.tmp", ".metrics.json.abcdefgh.npz",
              ".other.json.abcdefgh.tmp", "metrics.json.abcdefgh.tmp", "notes.txt"]  # fmt: skip
    for name in others:
        (tmp_path / name).write_text("not ours")

    write_json(target, {"test_acc": 0.9})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["metrics.json", *others])
    assert json.loads(target.read_text()) == {"test_acc": 0.9}
