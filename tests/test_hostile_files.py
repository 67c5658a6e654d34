"""Damaged or foreign files between the stages, a full disk, a hostile archive and huge texts for
predict: each ends in one line naming the file and the fix, with nothing half written."""

from __future__ import annotations

import errno
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from imdb_rnn.config import DataParams
from imdb_rnn.data.dataset import EncodedSplit, load_split, save_split
from imdb_rnn.data.prepare import prepare
from imdb_rnn.data.vocab import build_tokenizer
from imdb_rnn.errors import UserError, run_cli
from imdb_rnn.fileio import write_bytes
from imdb_rnn.records import HISTORY, run_dir
from imdb_rnn.stats.analysis import read_history_csv
from imdb_rnn.stats.summarize import summarize
from imdb_rnn.train.files import TrainData, load_embedding, save_torch
from imdb_rnn.train.training import run_training

from conftest import load_script
from fake_results import ARCHS, SEEDS, write_runs
from test_training import PARAMS_YAML, TINY, TRAIN, encoded, synthetic_texts

ROOT = Path(__file__).resolve().parents[1]
PREDICT = ROOT / "tools" / "predict.py"
MIB = 1 << 20


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """train/valid/test.npz, tokenizer.json and unsup.txt as the prepare stage writes them."""
    folder = tmp_path_factory.mktemp("prepared")
    texts, labels = synthetic_texts(60, seed=1)
    tokenizer = build_tokenizer(texts, max_size=48)
    (folder / "tokenizer.json").write_text(tokenizer.to_str(pretty=True), encoding="utf-8")
    save_split(folder / "train.npz", encoded(tokenizer, texts, labels))
    for name, seed in (("valid", 2), ("test", 3)):
        save_split(folder / f"{name}.npz", encoded(tokenizer, *synthetic_texts(30, seed=seed)))
    (folder / "unsup.txt").write_text("good film w1\nbad film w2\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def checkpoint(prepared, tmp_path_factory) -> Path:
    """A tiny trained bi-LSTM (architecture id 'tiny', seed 11)."""
    from test_training import outputs_in

    folder = tmp_path_factory.mktemp("run")
    run_training("tiny", TINY, TRAIN, TrainData.load(prepared), outputs_in(folder), seed=11)
    return outputs_in(folder).checkpoint


def copy_of(prepared: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "prepared"
    folder.mkdir()
    for path in prepared.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def only_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------ damaged files between the stages


def test_a_cut_train_npz_stops_embed_with_the_file_and_the_fix(prepared, tmp_path, capsys):
    data = copy_of(prepared, tmp_path)
    whole = (data / "train.npz").read_bytes()
    (data / "train.npz").write_bytes(whole[: len(whole) // 2])  # truncate -s 50%
    (tmp_path / "params.yaml").write_text(PARAMS_YAML, encoding="utf-8")
    args = ["--params", str(tmp_path / "params.yaml"), "--data", str(data), "--out", str(tmp_path / "e.npy"), "--stats", str(tmp_path / "s.json")]
    assert run_cli(load_script("embed").main, args) == 2
    assert f"{data / 'train.npz'} is damaged (BadZipFile: File is not a zip file); delete it and rerun the prepare stage" in only_line(capsys)
    assert not (tmp_path / "e.npy").exists() and not (tmp_path / "s.json").exists()


SPLIT = EncodedSplit.from_lists([[2, 3, 4], [5], []], [1, 0, 1], [1, 2, 3], [9, 1, 8])


@pytest.mark.parametrize(
    ("arrays", "problem"),
    [
        ({"offsets": np.array([0, 3, 4, 100])}, "its offsets do not cut its 4 tokens into reviews"),
        ({"labels": np.array([1, 0], dtype=np.int8)}, "2 labels, 3 ids, 3 ratings and 4 offsets (expected 3)"),
        ({"tokens": np.array([2, -3, 4, 5], dtype=np.int32)}, "token ids from -3 to 5"),
        ({"tokens": np.array([2.0, 3.0, 4.0, 5.0])}, "tokens is float64 (4,), not a list of integers"),
        ({"labels": np.array([1, 7, 0], dtype=np.int8)}, "a label other than 0 or 1"),
        ({"ids": np.array([None, 1, 2], dtype=object)}, "ValueError: Object arrays cannot be loaded when allow_pickle=False"),
    ],
)
def test_a_crafted_split_is_refused_before_anything_indexes_with_it(tmp_path, arrays, problem):
    fields = {"tokens": SPLIT.tokens, "offsets": SPLIT.offsets, "labels": SPLIT.labels, "ids": SPLIT.ids, "ratings": SPLIT.ratings}
    with open(tmp_path / "test.npz", "wb") as handle:
        np.savez(handle, **{**fields, **arrays})
    with pytest.raises(UserError) as info:
        load_split(tmp_path / "test.npz")
    assert str(info.value) == f"{tmp_path / 'test.npz'} is damaged ({problem}); delete it and rerun the prepare stage"


def test_token_ids_past_the_vocabulary_are_refused_where_a_vocabulary_is_known(tmp_path):
    save_split(tmp_path / "valid.npz", SPLIT)
    assert len(load_split(tmp_path / "valid.npz", vocab_size=6)) == 3
    with pytest.raises(UserError, match=r"is damaged \(token ids from 2 to 5, past the vocabulary's 5\)"):
        load_split(tmp_path / "valid.npz", vocab_size=5)


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4), }"])
def test_an_empty_or_cut_embedding_is_one_line(tmp_path, content):
    (tmp_path / "embedding.npy").write_bytes(content)
    with pytest.raises(UserError, match=r"embedding.npy is damaged, not a .npy matrix \(.*\); delete it and rerun the embed stage"):
        load_embedding(tmp_path / "embedding.npy")


def test_a_checkpoint_of_another_architecture_is_refused_by_diagnose(prepared, checkpoint, tmp_path, capsys):
    (tmp_path / "params.yaml").write_text(PARAMS_YAML, encoding="utf-8")
    args = ["--params", str(tmp_path / "params.yaml"), "--checkpoint", str(checkpoint), "--data", str(prepared / "valid.npz")]
    assert run_cli(load_script("diagnose").main, [*args, "--arch", "rnn1", "--out", str(tmp_path / "rnn1.json")]) == 2
    assert f"{checkpoint} holds a checkpoint of 'tiny' (seed 11), not of 'rnn1'; delete it and rerun the train stage for rnn1" in only_line(capsys)
    assert not (tmp_path / "rnn1.json").exists()
    assert run_cli(load_script("diagnose").main, [*args, "--arch", "tiny", "--out", str(tmp_path / "tiny.json")]) == 0


@pytest.mark.parametrize(
    ("cut", "problem"),
    [
        (lambda text: text[: text.rindex(",")], "its last line is cut short"),
        (lambda text: text[: text.rindex(",")] + "\n", "line 4 has 9 of the header's 10 columns"),
        (lambda text: text[: text.index("\n", text.index("\n") + 1) + 1], "1 rows for 3 epochs"),
        (lambda text: text.replace("0.", "O.", 1), "line 2 holds a value that is not a number"),
    ],
)
def test_a_cut_history_is_refused_by_summarize_before_the_report_reads_it(tmp_path, cut, problem):
    write_runs(tmp_path / "runs")
    history = run_dir(tmp_path / "runs", ARCHS[1], SEEDS[1]) / HISTORY
    history.write_text(cut(history.read_text()))
    with pytest.raises(UserError, match=rf"{history} is damaged \({problem}\); rerun stage `train` for {ARCHS[1]} seed {SEEDS[1]}"):
        summarize(ARCHS, SEEDS, tmp_path / "runs", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_history_cut_mid_row_is_one_line_where_the_report_reads_the_runs(tmp_path):
    write_runs(tmp_path / "runs")
    history = run_dir(tmp_path / "runs", ARCHS[0], SEEDS[0]) / HISTORY
    history.write_text(history.read_text()[:-30])
    with pytest.raises(UserError, match=rf"{history} has a damaged row \(a value is missing or not a number\)"):
        read_history_csv(history)


def test_an_archive_id_past_int32_is_refused_in_one_line(tmp_path):
    members = {
        f"aclImdb/{split}/{label}/{k}_{7 if label == 'pos' else 2}.txt": b"a fine film"
        for split in ("train", "test")
        for label in ("pos", "neg")
        for k in range(4)
    }
    members["aclImdb/test/pos/99999999999_10.txt"] = b"a fine film"
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(UserError, match=r"aclImdb/test/pos/99999999999_10.txt names a review id or rating outside IMDB's ids"):
        prepare(DataParams(), archive, tmp_path / "out", tmp_path / "stats.json")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ a full disk


def full_disk(monkeypatch) -> None:
    """Every plain write fails as on a full disk (ENOSPC)."""

    def refuse(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", refuse)


def test_a_full_disk_is_one_line_naming_the_folder_and_the_original_stays(tmp_path, monkeypatch):
    target = tmp_path / "results" / "metrics.json"
    write_bytes(target, b"the published bytes")
    full_disk(monkeypatch)
    with pytest.raises(UserError) as info:
        write_bytes(target, b"new bytes")
    assert str(info.value) == f"no space left on {target.parent} (writing metrics.json); free some space there and rerun"
    monkeypatch.undo()
    assert target.read_bytes() == b"the published bytes" and sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"]


def test_a_checkpoint_on_a_full_disk_is_one_line_not_torchs_iostream_error(tmp_path, monkeypatch):
    target = tmp_path / "models" / "rnn1" / "seed1234.pt"
    save_torch(target, {"w": torch.zeros(3)})
    before = target.read_bytes()
    full_disk(monkeypatch)
    with pytest.raises(UserError, match=rf"^no space left on {target.parent} \(writing seed1234.pt\)"):
        save_torch(target, {"w": torch.ones(1000)})
    monkeypatch.undo()
    assert target.read_bytes() == before and sorted(p.name for p in target.parent.iterdir()) == ["seed1234.pt"]


# ------------------------------------------------------------------ predict on huge texts


def predict(checkpoint: Path, prepared: Path, *texts: str, stdin: bytes = b"", python: list[str] | None = None) -> subprocess.CompletedProcess:
    command = [*(python or [sys.executable]), str(PREDICT), "--checkpoint", str(checkpoint), "--tokenizer", str(prepared / "tokenizer.json"), *texts]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=300, cwd=ROOT)


def test_a_megabyte_line_is_read_as_far_as_a_review_may_be_and_said_so(checkpoint, prepared):
    line = b"good w1 " * (MIB // 4)  # 2 MiB, one line
    done = predict(checkpoint, prepared, stdin=line + b"\nbad\n")
    assert done.returncode == 0, done.stderr.decode()
    scored = done.stdout.decode().splitlines()
    assert len(scored) == 2 and scored[1].endswith("\tbad")
    assert len(scored[0].split("\t", 1)[1].encode()) <= MIB
    assert done.stderr.decode().splitlines() == [
        "note: text 1 is longer than 1,048,576 bytes (the most a review in the archive may hold); "
        "scored on its first 4,096 tokens (IMDB's longest review has 2,739)"
    ]


def test_a_text_past_4096_tokens_is_scored_on_its_first_4096(checkpoint, prepared):
    words = ["good", "w1", "bad", "w2"] * 1250
    long, first = predict(checkpoint, prepared, " ".join(words)), predict(checkpoint, prepared, " ".join(words[:4096]))
    assert long.returncode == 0 and first.returncode == 0
    assert long.stdout.split(b"\t")[0] == first.stdout.split(b"\t")[0]
    assert long.stderr.decode() == "note: text 1 has 5,000 tokens; scored on its first 4,096 tokens (IMDB's longest review has 2,739)\n"
    assert first.stderr == b""


def test_a_line_cut_inside_a_character_is_not_called_invalid_utf8(checkpoint, prepared):
    line = b"a" * (MIB - 1) + "é".encode()  # the cut falls between é's two bytes
    done = predict(checkpoint, prepared, stdin=line + b"\n")
    assert done.returncode == 0 and b"not valid UTF-8" not in done.stderr and b"longer than 1,048,576 bytes" in done.stderr


def test_predict_run_by_a_python_without_the_project_says_how_to_run_it(checkpoint, prepared):
    done = predict(checkpoint, prepared, "good", python=[sys.executable, "-I", "-S"])  # no site-packages: as python3 on a fresh machine
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "error: this Python does not have the project installed; run `make install` once, then `.venv/bin/python tools/predict.py …`\n"
    )
    assert "models/<arch>/seed<k>.pt" in subprocess.run([sys.executable, str(PREDICT), "--help"], capture_output=True, text=True).stdout
