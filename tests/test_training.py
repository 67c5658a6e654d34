"""Training on a tiny synthetic data set: outputs, reproducibility, resume, divergence, predict."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from imdb_rnn.config import ModelParams, TrainParams
from imdb_rnn.data.dataset import EncodedSplit, save_split
from imdb_rnn.data.vocab import build_tokenizer, encode
from imdb_rnn.errors import UserError
from imdb_rnn.fingerprint import EARLY_BATCHES, state_fingerprint
from imdb_rnn.records import HISTORY_COLUMNS, read_predictions, review_names
from imdb_rnn.train import resume, threads, training
from imdb_rnn.train.batching import BatchLoader, eval_batches, train_batches
from imdb_rnn.train.files import OutputPaths, TrainData
from imdb_rnn.train.models import build_model, load_checkpoint, rnn_parameter_count
from imdb_rnn.train.training import evaluate, run_training

from conftest import TIMING_KEYS, load_script

ROOT = Path(__file__).resolve().parents[1]
TINY = ModelParams(
    class_name="TinyRNN", title="tiny bi-LSTM", cell="lstm", embedding_dim=8, hidden_dim=8, num_layers=2, bidirectional=True, dropout=0.2
)
TRAIN = TrainParams(archs=["tiny"], epochs=3, seed=11, batch_size=8, lr=0.02, device="cpu")
PARAMS_YAML = """\
embedding: {init: word2vec, dim: 8}
train: {archs: [tiny], epochs: 3, seed: 11, seeds: [11], batch_size: 8, lr: 0.02, device: cpu}
models:
  tiny: {class_name: TinyRNN, title: tiny bi-LSTM, cell: lstm, embedding_dim: 8, hidden_dim: 8, num_layers: 2, bidirectional: true, dropout: 0.2}
"""


def synthetic_texts(n: int, seed: int) -> tuple[list[str], list[int]]:
    """Reviews of 3–20 words; a positive one uses 'good'/'great' where a negative says 'bad'/'awful'."""
    rng = np.random.default_rng(seed)
    fillers = [f"w{i}" for i in range(40)]
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        cues = ["good", "great"] if label else ["bad", "awful"]
        words = [rng.choice(cues) if rng.random() < 0.3 else rng.choice(fillers) for _ in range(rng.integers(3, 21))]
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def encoded(tokenizer, texts: list[str], labels: list[int]) -> EncodedSplit:
    return EncodedSplit.from_lists(encode(tokenizer, texts), labels, ids=range(len(texts)), ratings=[8 if y else 2 for y in labels])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A data folder as the prepare stage writes it: train/valid/test.npz and tokenizer.json."""
    folder = tmp_path_factory.mktemp("prepared")
    train_texts, train_labels = synthetic_texts(60, seed=1)
    tokenizer = build_tokenizer(train_texts, max_size=48)
    tokenizer.save(str(folder / "tokenizer.json"))
    save_split(folder / "train.npz", encoded(tokenizer, train_texts, train_labels))
    for name, seed in (("valid", 2), ("test", 3)):
        save_split(folder / f"{name}.npz", encoded(tokenizer, *synthetic_texts(30, seed=seed)))
    return folder


@pytest.fixture(scope="module")
def data(prepared) -> TrainData:
    return TrainData.load(prepared)


def outputs_in(folder: Path) -> OutputPaths:
    return OutputPaths(
        checkpoint=folder / "models" / "tiny.pt",
        resume=folder / "models" / "resume" / "tiny-s11.pt",
        metrics=folder / "results" / "metrics" / "tiny.json",
        history=folder / "results" / "history" / "tiny.csv",
        structure=folder / "results" / "models" / "tiny.txt",
        predictions=folder / "results" / "runs" / "predictions.csv.gz",
    )


def cli_args(prepared: Path, folder: Path, *extra: str) -> list[str]:
    out = outputs_in(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = folder / "params.yaml"
    params.write_text(PARAMS_YAML)
    return [
        "--params", str(params), "--arch", "tiny", "--data", str(prepared),
        "--checkpoint", str(out.checkpoint), "--resume", str(out.resume), "--metrics", str(out.metrics),
        "--history", str(out.history), "--structure", str(out.structure), "--predictions", str(out.predictions), *extra,
    ]  # fmt: skip


def stable(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if key not in TIMING_KEYS}


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory) -> dict:
    """One uninterrupted run, the yardstick for the reproducibility and resume tests."""
    folder = tmp_path_factory.mktemp("reference")
    metrics = run_training("tiny", TINY, TRAIN, data, outputs_in(folder), seed=11)
    return {"metrics": metrics, "outputs": outputs_in(folder)}


def test_cli_run_lowers_the_loss_and_writes_every_output(prepared, tmp_path):
    load_script("train").main(cli_args(prepared, tmp_path))
    out = outputs_in(tmp_path)

    metrics = json.loads(out.metrics.read_text())
    contract = {"test_acc", "test_loss", "valid_acc", "valid_loss", "best_epoch", "rnn_params", "total_params", "epochs",
                "train_seconds", "train_tokens_per_second", "tokens_dropped_fraction", "seed", "device", "threads",
                "embedding_init", "code_version"}  # fmt: skip
    assert contract <= set(metrics)
    # The tests run in this project's checkout: the commit is HEAD's, maybe with "+dirty".
    assert metrics["code_version"].split("+")[0] == training.code_version().split("+")[0] != "unknown"
    assert metrics["epochs"] == 3 and metrics["seed"] == 11 and metrics["device"] == "cpu" and metrics["embedding_init"] == "random"
    assert 0 <= metrics["test_acc"] <= 1 and metrics["train_tokens_per_second"] > 0
    assert 0 < metrics["tokens_dropped_fraction"] < 0.5

    with out.history.open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == HISTORY_COLUMNS and [int(r["epoch"]) for r in rows] == [1, 2, 3]
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < losses[0]
    for row in rows:
        assert 0 < float(row["rnn_grad_norm_mean"]) <= float(row["rnn_grad_norm_max"]) <= float(row["grad_norm_max"])
        assert float(row["rnn_grad_norm_mean"]) < float(row["grad_norm_mean"]) <= float(row["grad_norm_max"])
    best = min(rows, key=lambda r: float(r["valid_loss"]))
    assert metrics["best_epoch"] == int(best["epoch"]) and metrics["valid_loss"] == pytest.approx(float(best["valid_loss"]))

    checkpoint = torch.load(out.checkpoint, weights_only=True)
    assert checkpoint["arch"] == "tiny" and checkpoint["seed"] == 11
    assert checkpoint["config"]["model"]["class_name"] == "TinyRNN" and checkpoint["config"]["train"]["lr"] == 0.02
    assert checkpoint["config"]["embedding"]["init"] == "random"
    model = build_model(TINY, checkpoint["vocab_size"])
    model.load_state_dict(checkpoint["state_dict"])
    assert out.structure.read_text() == str(model) + "\n"
    assert out.structure.read_text().startswith("TinyRNN(\n  (embedding): Embedding(")
    assert metrics["rnn_params"] == rnn_parameter_count(model)
    assert not out.resume.exists()


@pytest.mark.skipif(threads.available_cores() < 2, reason="needs two cores")
def test_an_lstm_run_that_grows_onto_an_idle_core_matches_the_fixed_run(data, reference, tmp_path, monkeypatch, capsys):
    # a machine where the other core is always idle: the governor grows at its first look
    monkeypatch.setattr(threads, "read_cpu_sample", lambda: threads.CpuSample(time.monotonic(), 0.0, 0.0))
    monkeypatch.setattr(threads, "POLL_SECONDS", 0.0)
    before = torch.get_num_threads()
    try:
        grown = run_training("tiny", TINY, TRAIN, data, outputs_in(tmp_path), seed=11, threads=1, max_threads=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert "threads 1 -> 2 at" in capsys.readouterr().out
    assert grown["threads"] == 1 and grown["max_threads"] == 2 and set(grown["thread_seconds"]) == {"1", "2"}
    fixed = reference["metrics"]
    assert fixed["max_threads"] == 1 and set(fixed["thread_seconds"]) == {"1"}
    assert {k: v for k, v in stable(grown).items() if k != "max_threads"} == {k: v for k, v in stable(fixed).items() if k != "max_threads"}


def test_only_thread_invariant_cells_on_the_cpu_may_grow(capsys):
    rnn = TINY.model_copy(update={"cell": "rnn"})
    assert not threads.run_governor(rnn, torch.device("cpu"), 1, 2).elastic
    assert "rnn cells keep 1 thread(s): their results depend on the thread count" in capsys.readouterr().out
    assert not threads.run_governor(TINY, torch.device("cuda"), 1, 2).elastic
    # used as given: train.py's command line resolved it to at most the cores (tests/test_threads.py)
    assert threads.run_governor(TINY, torch.device("cpu"), 1, 3).limit == 3
    with pytest.raises(UserError, match="max_threads"):
        threads.run_governor(TINY, torch.device("cpu"), 2, 1)


def test_same_seed_gives_identical_metrics(data, reference, tmp_path):
    again = run_training("tiny", TINY, TRAIN, data, outputs_in(tmp_path), seed=11)
    assert stable(again) == stable(reference["metrics"])
    other = run_training("tiny", TINY, TRAIN, data, outputs_in(tmp_path / "other"), seed=12)
    assert stable(other) != stable(reference["metrics"])


def test_fingerprints_record_the_weights_after_the_first_batches_and_every_epoch(data, reference):
    metrics = reference["metrics"]
    prints = metrics["fingerprints"]
    batches = len(train_batches(data.train.lengths, TRAIN.batch_size, 11, 1).batches)
    assert prints["early"]["batches"] == min(EARLY_BATCHES, batches)
    # verify's recomputation of the first steps gives the run's own record ...
    assert training.early_fingerprint(TINY, TRAIN, data, seed=11, embedding=None) == (prints["early"]["batches"], prints["early"]["state"])
    # ... and fewer steps give another state
    assert training.early_fingerprint(TINY, TRAIN, data, seed=11, embedding=None, batches=2)[1] != prints["early"]["state"]
    assert len(prints["epochs"]) == TRAIN.epochs == len(set(prints["epochs"]))
    if batches <= EARLY_BATCHES:  # the tiny epoch is shorter than the early window: the same weights
        assert prints["early"]["state"] == prints["epochs"][0]
    best = torch.load(reference["outputs"].checkpoint, weights_only=True)["state_dict"]
    assert state_fingerprint(best) == prints["epochs"][metrics["best_epoch"] - 1]


def test_metrics_record_the_numerics_in_force(reference):
    numerics = reference["metrics"]["numerics"]
    assert numerics["env"]["MKL_CBWR"] == "AVX2" and numerics["env"]["ONEDNN_MAX_CPU_ISA"] == "AVX2"  # conftest's pin
    assert numerics["packages"]["torch"] == torch.__version__
    assert numerics["kernels"]["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert numerics["cpu"]


def crash_in_epoch(monkeypatch, epoch: int, action) -> None:
    """Make training's ``train`` call ``action(model)`` when epoch ``epoch`` starts."""
    original, calls = training.train, []

    def patched(model, *args, **kwargs):
        calls.append(1)
        if len(calls) == epoch:
            action(model)
        return original(model, *args, **kwargs)

    monkeypatch.setattr(training, "train", patched)


def interrupt(model):
    raise KeyboardInterrupt


def interrupt_in_epoch_2(data: TrainData, out: OutputPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of the tiny model killed (KeyboardInterrupt) during its second epoch: epoch 1's resume state is left."""
    with monkeypatch.context() as patch:
        crash_in_epoch(patch, 2, interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_training("tiny", TINY, TRAIN, data, out, seed=11)


def test_rerun_after_a_crash_resumes_and_matches_an_uninterrupted_run(data, reference, tmp_path, monkeypatch, capsys):
    out = outputs_in(tmp_path)
    interrupt_in_epoch_2(data, out, monkeypatch)
    assert resume.read_resume_state(out.resume)["epoch"] == 1
    assert not out.metrics.exists()

    resumed = run_training("tiny", TINY, TRAIN, data, out, seed=11)
    assert "resuming tiny after epoch 1" in capsys.readouterr().out
    assert stable(resumed) == stable(reference["metrics"])
    ours = torch.load(out.checkpoint, weights_only=True)["state_dict"]
    theirs = torch.load(reference["outputs"].checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(ours[key], theirs[key]) for key in theirs)


def test_resume_state_of_another_configuration_is_ignored(data, tmp_path, monkeypatch, capsys):
    out = outputs_in(tmp_path)
    interrupt_in_epoch_2(data, out, monkeypatch)
    changed = TRAIN.model_copy(update={"lr": 0.01})
    metrics = run_training("tiny", TINY, changed, data, out, seed=11)
    captured = capsys.readouterr()
    assert "belongs to another configuration; starting fresh" in captured.err
    assert "resuming" not in captured.out
    fresh = run_training("tiny", TINY, changed, data, outputs_in(tmp_path / "fresh"), seed=11)
    assert stable(metrics) == stable(fresh)


def flip_bytes(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    for at in (len(raw) // 3, len(raw) // 2, 2 * len(raw) // 3):
        raw[at] ^= 0x20
    path.write_bytes(bytes(raw))


def truncate_to_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def truncate_into_the_header(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:10])


def without_optimizer(path: Path) -> None:
    state = resume.read_resume_state(path)
    del state["optimizer"]
    resume.write_resume_state(path, state)  # a hand-made state: its checksum is right


def with_history_of_wrong_type(path: Path) -> None:
    state = resume.read_resume_state(path)
    state["history"] = "epoch 1"
    resume.write_resume_state(path, state)


def with_weights_of_another_model(path: Path) -> None:
    state = resume.read_resume_state(path)
    state["model"] = {key: value[:1] for key, value in state["model"].items()}
    resume.write_resume_state(path, state)


def in_format_2(path: Path) -> None:
    state = resume.read_resume_state(path)
    torch.save({"format": 2, **state}, path)  # as the code before the checksummed header wrote it


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (flip_bytes, "damaged resume state {path} (its bytes do not match their checksum)"),
        (truncate_to_half, "damaged resume state {path} (its bytes do not match their checksum)"),
        (truncate_into_the_header, "damaged resume state {path} (no resume header)"),
        (without_optimizer, "damaged resume state {path} (missing or bad 'optimizer')"),
        (with_history_of_wrong_type, "damaged resume state {path} (missing or bad 'history')"),
        (with_weights_of_another_model, "damaged resume state {path} (it does not fit the model: RuntimeError)"),
        (in_format_2, "resume state {path}: it was written in an earlier format"),
    ],
    ids=["flipped-bytes", "truncated", "truncated-header", "no-optimizer", "history-not-a-list", "weights-do-not-fit", "format-2"],
)
def test_damaged_resume_state_is_ignored_and_the_run_matches_an_uninterrupted_one(data, reference, tmp_path, monkeypatch, capsys, damage, why):
    out = outputs_in(tmp_path)
    interrupt_in_epoch_2(data, out, monkeypatch)
    damage(out.resume)
    capsys.readouterr()

    metrics = run_training("tiny", TINY, TRAIN, data, out, seed=11)
    captured = capsys.readouterr()
    assert f"note: ignoring {why.format(path=out.resume)}; starting fresh" in captured.err.splitlines()
    assert "resuming" not in captured.out
    assert stable(metrics) == stable(reference["metrics"])
    ours = torch.load(out.checkpoint, weights_only=True)["state_dict"]
    theirs = torch.load(reference["outputs"].checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(ours[key], theirs[key]) for key in theirs)


def test_a_checkpoint_whose_weights_lost_a_bit_is_refused(prepared, reference, tmp_path):
    path = reference["outputs"].checkpoint
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["state_fingerprint"] == state_fingerprint(checkpoint["state_dict"])
    assert load_checkpoint(path)[1]["arch"] == "tiny"

    # torch.load checks no checksum: flip one bit inside a weight's stored bytes
    raw = bytearray(path.read_bytes())
    weight = checkpoint["state_dict"]["embedding.weight"].numpy().tobytes()
    at = raw.find(weight)
    assert at > 0 and raw.find(weight, at + 1) == -1
    raw[at + len(weight) // 2] ^= 0x01
    damaged = tmp_path / "seed11.pt"
    damaged.write_bytes(bytes(raw))
    assert not torch.equal(torch.load(damaged, weights_only=True)["state_dict"]["embedding.weight"], checkpoint["state_dict"]["embedding.weight"])
    message = f"{damaged}: damaged checkpoint (its weights do not match their recorded fingerprint); rerun its training, or `dvc checkout {damaged}`"
    with pytest.raises(UserError) as info:
        load_checkpoint(damaged)
    assert str(info.value) == message
    with pytest.raises(UserError, match="damaged checkpoint"):
        load_script("predict").main(["--checkpoint", str(damaged), "--tokenizer", str(prepared / "tokenizer.json"), "good"])

    # a checkpoint written before fingerprints were recorded still loads
    del checkpoint["state_fingerprint"]
    torch.save(checkpoint, tmp_path / "older.pt")
    assert load_checkpoint(tmp_path / "older.pt")[1]["arch"] == "tiny"


def test_a_resume_state_from_other_numeric_kernels_is_not_continued(data, tmp_path, monkeypatch, capsys):
    out = outputs_in(tmp_path)
    interrupt_in_epoch_2(data, out, monkeypatch)
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")  # what another numerics.cpu would have set
    run_training("tiny", TINY, TRAIN, data, out, seed=11)
    captured = capsys.readouterr()
    assert "belongs to another configuration; starting fresh" in captured.err and "resuming" not in captured.out


def test_nan_loss_stops_and_keeps_the_last_good_resume_state(data, tmp_path, monkeypatch):
    def poison(model):
        with torch.no_grad():
            model.fc.bias.fill_(float("nan"))

    out = outputs_in(tmp_path)
    crash_in_epoch(monkeypatch, 2, poison)
    with pytest.raises(UserError, match=r"training diverged at epoch 2 batch 1 \(loss nan\); lower train.lr"):
        run_training("tiny", TINY, TRAIN, data, out, seed=11)
    state = resume.read_resume_state(out.resume)
    assert state["epoch"] == 1 and len(state["history"]) == 1
    assert all(torch.isfinite(t).all() for t in state["model"].values())
    assert not out.metrics.exists()


class FirstTokenModel(nn.Module):
    """Predicts positive exactly when a review's first token id is even."""

    def forward(self, text, lengths=None):
        return torch.where(text[0] % 2 == 0, 5.0, -5.0)


def test_accuracy_is_over_examples_not_a_mean_of_batch_means():
    # One batch of three (all right) and one of one (wrong): 3/4, where batch means give 1/2.
    split = EncodedSplit.from_lists([[2, 3], [4, 5], [6, 7], [3, 3, 3]], labels=[1, 1, 1, 1], ids=range(4), ratings=[9] * 4)
    result = evaluate(FirstTokenModel(), BatchLoader(split, eval_batches(split.lengths, 3)), nn.BCEWithLogitsLoss())
    assert result.acc == pytest.approx(0.75)
    assert result.examples == 4
    expected_loss = (3 * np.log1p(np.exp(-5.0)) + np.log1p(np.exp(5.0))) / 4
    assert result.loss == pytest.approx(expected_loss, rel=1e-5)


def test_evaluation_under_a_token_budget_scores_every_review_as_before(data, reference):
    model, _ = load_checkpoint(reference["outputs"].checkpoint)
    whole, budgeted = eval_batches(data.test.lengths, 8), eval_batches(data.test.lengths, 8, max_tokens=40)
    assert len(budgeted) > len(whole)  # the budget split the longer batches

    def logits(batches):
        scores = torch.empty(len(data.test))
        with torch.no_grad():
            for batch, (text, _, lengths) in zip(batches, BatchLoader(data.test, batches), strict=True):
                scores[batch.indices] = model(text, lengths)
        return scores

    assert torch.allclose(logits(budgeted), logits(whole), rtol=0, atol=1e-6)
    a, b = (evaluate(model, BatchLoader(data.test, batches), nn.BCEWithLogitsLoss()) for batches in (whole, budgeted))
    assert (a.acc, a.examples, a.tokens) == (b.acc, b.examples, b.tokens) and a.loss == pytest.approx(b.loss, rel=1e-6)


def test_gradient_norms_are_those_of_each_batch_before_the_step():
    # lr 0 leaves the weights alone and no dropout: each batch's gradient can be recomputed.
    params = TINY.model_copy(update={"dropout": 0.0})
    torch.manual_seed(0)
    model = build_model(params, 30)
    batches = [(torch.randint(2, 30, (length, 4)), torch.tensor([0.0, 1.0, 1.0, 0.0])) for length in (3, 7, 5)]
    expected = []
    for text, labels in batches:
        model.zero_grad()
        nn.BCEWithLogitsLoss()(model(text), labels).backward()
        total = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())).item()
        recurrent = torch.sqrt(sum((p.grad**2).sum() for p in model.rnn_layer.parameters())).item()
        expected.append((total, recurrent))
    result = training.train(model, batches, torch.optim.SGD(model.parameters(), lr=0.0), nn.BCEWithLogitsLoss())
    totals, recurrents = zip(*expected, strict=True)
    assert result.grad_norms == pytest.approx((np.mean(totals), max(totals), np.mean(recurrents), max(recurrents)), rel=1e-5)
    assert 0 < np.mean(recurrents) < np.mean(totals)


def test_pretrained_embedding_is_used_and_recorded(prepared, data, tmp_path):
    vectors = np.random.default_rng(0).normal(size=(data.vocab_size, 8)).astype(np.float32)
    np.save(tmp_path / "embedding.npy", vectors)
    load_script("train").main(cli_args(prepared, tmp_path, "--embedding", str(tmp_path / "embedding.npy")))
    out = outputs_in(tmp_path)
    assert json.loads(out.metrics.read_text())["embedding_init"] == "word2vec"
    assert torch.load(out.checkpoint, weights_only=True)["config"]["embedding"]["sha256"] is not None

    np.save(tmp_path / "wrong.npy", vectors[:, :5])
    with pytest.raises(UserError, match="pretrained embedding has shape"):
        load_script("train").main(cli_args(prepared, tmp_path / "wrong", "--embedding", str(tmp_path / "wrong.npy")))


def test_predict_scores_texts_and_refuses_a_foreign_checkpoint(prepared, reference, tmp_path, monkeypatch, capsys):
    predict = load_script("predict")
    checkpoint = str(reference["outputs"].checkpoint)
    tokenizer = str(prepared / "tokenizer.json")

    predict.main(["--checkpoint", checkpoint, "--tokenizer", tokenizer, "good great w1", ""])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(0.0 <= float(line.split("\t")[0]) <= 1.0 for line in lines)
    assert lines[0].endswith("\tgood great w1")

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"bad awful\n\ngood\n")))
    predict.main(["--checkpoint", checkpoint, "--tokenizer", tokenizer])
    assert len(capsys.readouterr().out.splitlines()) == 2

    other = build_tokenizer(["a completely different vocabulary"], max_size=48)
    other.save(str(tmp_path / "other.json"))
    with pytest.raises(UserError, match="another vocabulary"):
        predict.main(["--checkpoint", checkpoint, "--tokenizer", str(tmp_path / "other.json"), "good"])

    predict.main(["--checkpoint", checkpoint, "--evaluate", str(prepared / "test.npz")])
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{prepared / 'test.npz'}: 30 reviews, loss ") and "accuracy" in line
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    other.save(str(foreign / "tokenizer.json"))
    (foreign / "test.npz").write_bytes((prepared / "test.npz").read_bytes())
    with pytest.raises(UserError, match="another vocabulary"):
        predict.main(["--checkpoint", checkpoint, "--evaluate", str(foreign / "test.npz")])

    broken = torch.load(checkpoint, weights_only=True)
    broken["config"]["model"]["hidden_dim"] = 9
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(UserError, match="weights do not fit its architecture"):
        predict.main(["--checkpoint", str(tmp_path / "broken.pt"), "--tokenizer", tokenizer, "good"])
    with pytest.raises(UserError, match="weights do not fit its architecture"):
        predict.main(["--checkpoint", str(tmp_path / "broken.pt"), "--evaluate", str(prepared / "test.npz")])


def test_predict_replaces_bytes_on_stdin_that_are_not_utf8_and_says_so(prepared, reference):
    command = [sys.executable, str(ROOT / "tools/predict.py"), "--checkpoint", str(reference["outputs"].checkpoint),
               "--tokenizer", str(prepared / "tokenizer.json")]  # fmt: skip
    result = subprocess.run(command, input=b"good \xff great\r\n\n\xfe\xfe\ngood great\n", capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode("utf-8").splitlines()
    assert [line.split("\t", 1)[1] for line in lines] == ["good \ufffd great", "\ufffd\ufffd", "good great"]
    assert all(0.0 <= float(line.split("\t")[0]) <= 1.0 for line in lines)
    assert (
        "note: stdin is not valid UTF-8 (first bad byte at offset 5); invalid bytes were replaced with U+FFFD, as prepare does"
        in result.stderr.decode().splitlines()
    )
    # the replaced text scores as the same text with U+FFFD typed in
    clean = subprocess.run(command, input="good \ufffd great\n".encode(), capture_output=True, check=True)
    assert clean.stdout.decode().splitlines()[0] == lines[0] and b"note:" not in clean.stderr


def test_predictions_hold_every_test_review_in_order_and_give_the_test_accuracy(data, reference):
    predictions = read_predictions(reference["outputs"].predictions)
    test = data.test
    assert len(predictions) == len(test) and len(set(predictions.review)) == len(test)
    assert predictions.review == review_names(test.ids, test.labels, test.ratings)
    assert all(name.startswith(("test/pos/", "test/neg/")) for name in predictions.review)
    assert (predictions.label == test.labels).all() and (predictions.tokens == test.lengths).all()
    # the accuracy the metrics report, recomputed from the file
    assert predictions.accuracy == reference["metrics"]["test_acc"]
    assert ((predictions.p_positive > 0.5) == (predictions.pred == 1)).all()
    assert ((predictions.p_positive > 0) & (predictions.p_positive < 1)).all()


def test_predictions_file_is_byte_identical_for_the_same_run(data, reference, tmp_path):
    run_training("tiny", TINY, TRAIN, data, outputs_in(tmp_path), seed=11)
    assert outputs_in(tmp_path).predictions.read_bytes() == reference["outputs"].predictions.read_bytes()


def test_clip_norm_caps_the_norm_of_every_step_and_records_the_unclipped_one(data, monkeypatch):
    # Off (None, the default) takes the path that the committed fingerprints of
    # tests/test_numerics.py pin, so it stays bit-identical to runs made before clipping existed.
    clip = 0.05
    seen: list[float] = []
    original_step = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        seen.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    plan = train_batches(data.train.lengths, 8, 11, 1)
    results = {}
    for setting in (None, clip):
        seen.clear()
        torch.manual_seed(11)
        model = build_model(TINY, data.vocab_size)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
        loader = BatchLoader(data.train, plan.batches, "cpu")
        result = training.train(model, loader, optimizer, torch.nn.BCEWithLogitsLoss(), clip_norm=setting)
        results[setting] = (result, list(seen), state_fingerprint(model.state_dict()))
    unclipped, clipped = results[None], results[clip]
    assert max(unclipped[1]) > clip  # the test means something: these gradients are larger
    assert all(norm <= clip * (1 + 1e-5) for norm in clipped[1])
    assert clipped[0].grad_norms[1] > clip  # recorded norms are before clipping
    assert clipped[2] != unclipped[2]


@pytest.mark.parametrize("value", [0, -1.0, float("inf"), "1"])
def test_clip_norm_refuses_values_that_are_not_a_positive_number(value):
    with pytest.raises(ValueError):
        TrainParams(archs=["tiny"], clip_norm=value)
    assert TrainParams(archs=["tiny"], clip_norm=1).clip_norm == 1


def test_early_fingerprint_clips_as_the_run_did(data, tmp_path):
    # verify recomputes a published run's first batches: with train.clip_norm set, clipped too
    clipped = TRAIN.model_copy(update={"clip_norm": 0.05})
    metrics = run_training("tiny", TINY, clipped, data, outputs_in(tmp_path), seed=11)
    early = metrics["fingerprints"]["early"]
    assert training.early_fingerprint(TINY, clipped, data, seed=11, embedding=None) == (early["batches"], early["state"])
    assert training.early_fingerprint(TINY, TRAIN, data, seed=11, embedding=None)[1] != early["state"]


# ------------------------------------------------------------------ on a CUDA GPU (skipped without one)
# train.device: auto picks the GPU where there is one, so a user's `make report` trains there: these check
# that path. They run wherever torch sees a CUDA device (this project's CI machine has none).
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
TRAIN_CUDA = TRAIN.model_copy(update={"device": "cuda"})


@CUDA
def test_a_cuda_run_writes_every_output_and_its_checkpoint_serves_on_the_cpu(prepared, tmp_path, capsys):
    args = cli_args(prepared, tmp_path)
    (tmp_path / "params.yaml").write_text(PARAMS_YAML.replace("device: cpu", "device: cuda"))
    load_script("train").main(args)
    out = outputs_in(tmp_path)
    metrics = json.loads(out.metrics.read_text())
    assert metrics["device"] == "cuda"
    with out.history.open() as handle:
        rows = list(csv.DictReader(handle))
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert all(float(r["rnn_grad_norm_mean"]) > 0 for r in rows)
    predictions = read_predictions(out.predictions)
    assert len(predictions) == 30 and predictions.accuracy == metrics["test_acc"]

    # The checkpoint holds CPU-loadable weights whose fingerprint still matches, and scores the
    # test set on the CPU as the GPU did, to the GPU's precision: cuDNN runs the recurrent matrix
    # products in TF32 (10-bit mantissa) on Ampere and later unless told otherwise.
    model, _ = load_checkpoint(out.checkpoint, "cpu")
    assert all(p.device.type == "cpu" for p in model.parameters())
    test = TrainData.load(prepared).test
    loader = BatchLoader(test, eval_batches(test.lengths, 8))
    logits: list[torch.Tensor] = []
    evaluate(model, loader, nn.BCEWithLogitsLoss(), logits_out=logits)
    p_cpu = np.empty(len(test), dtype=np.float32)
    p_cpu[np.concatenate([batch.indices for batch in loader.batches])] = torch.sigmoid(torch.cat(logits)).numpy()
    difference = float(np.abs(p_cpu - predictions.p_positive).max())
    print(f"largest |P(positive) on the CPU - on the GPU|: {difference:.2e}")
    assert difference < 2e-3
    capsys.readouterr()
    load_script("predict").main(["--checkpoint", str(out.checkpoint), "--evaluate", str(prepared / "test.npz")])
    assert "30 reviews" in capsys.readouterr().out


@CUDA
def test_a_cuda_run_resumes_after_a_crash(data, tmp_path, monkeypatch, capsys):
    out = outputs_in(tmp_path / "crashed")
    with monkeypatch.context() as patch:
        crash_in_epoch(patch, 2, interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_training("tiny", TINY, TRAIN_CUDA, data, out, seed=11)
    assert resume.read_resume_state(out.resume)["epoch"] == 1
    resumed = run_training("tiny", TINY, TRAIN_CUDA, data, out, seed=11)
    assert "resuming tiny after epoch 1" in capsys.readouterr().out
    assert resumed["device"] == "cuda" and resumed["epochs"] == 3 and not out.resume.exists()


@CUDA
def test_the_same_seed_on_the_same_gpu_gives_the_same_run(data, tmp_path):
    first = run_training("tiny", TINY, TRAIN_CUDA, data, outputs_in(tmp_path / "a"), seed=11)
    second = run_training("tiny", TINY, TRAIN_CUDA, data, outputs_in(tmp_path / "b"), seed=11)
    assert first["fingerprints"] == second["fingerprints"]
    assert stable(first) == stable(second)


@CUDA
def test_evaluating_padded_batches_leaves_the_cudnn_weights_in_one_chunk(data):
    """The per-layer cells of padded evaluation share the layer's weights; on a GPU their first call
    re-packs those weights, and the full layer must get its single cuDNN buffer back."""
    import warnings

    model, optimizer, criterion = training.start_run(TINY, TRAIN_CUDA, data.vocab_size, seed=11, device=torch.device("cuda"), embedding=None)
    valid = BatchLoader(data.valid, eval_batches(data.valid.lengths, 8), torch.device("cuda"))
    evaluate(model, valid, criterion)
    model.train()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*single contiguous chunk.*")
        model(torch.randint(2, 40, (12, 4), device="cuda"))


def test_recipe_options_change_the_run_as_they_say(data, reference, tmp_path):
    """train.optimizer, train.batching and train.checkpoint: each its own run, recorded in the
    metrics and the checkpoint; the defaults are the reference run (the published recipe)."""
    assert reference["metrics"]["train"] == {
        "epochs": 3, "batch_size": 8, "lr": 0.02, "clip_norm": None, "optimizer": "adam", "batching": "bucketed", "checkpoint": "best"
    }  # fmt: skip
    base = stable(reference["metrics"])
    runs = {}
    for key, value in (("optimizer", "sgd"), ("batching", "padded"), ("checkpoint", "last")):
        changed = TRAIN.model_copy(update={key: value})
        runs[key] = run_training("tiny", TINY, changed, data, outputs_in(tmp_path / key), seed=11)
        assert runs[key]["train"][key] == value
        assert torch.load(outputs_in(tmp_path / key).checkpoint, weights_only=True)["config"]["train"][key] == value
        # verify's recomputation of the first steps follows the recipe too
        early = runs[key]["fingerprints"]["early"]
        assert training.early_fingerprint(TINY, changed, data, seed=11, embedding=None) == (early["batches"], early["state"])
    # SGD and padded batches take another path from the first step
    assert runs["optimizer"]["fingerprints"]["early"] != base["fingerprints"]["early"]
    assert runs["batching"]["fingerprints"]["early"] != base["fingerprints"]["early"]
    assert runs["batching"]["tokens_dropped_fraction"] == 0 < base["tokens_dropped_fraction"]
    # the last epoch's weights: the same trajectory as the best-validation run, other weights tested
    # (a faster rate, whose best validation loss comes at epoch 2 of 4: the test means something)
    fast = TRAIN.model_copy(update={"lr": 0.05, "epochs": 4})
    best = run_training("tiny", TINY, fast, data, outputs_in(tmp_path / "fast-best"), seed=11)
    last = run_training("tiny", TINY, fast.model_copy(update={"checkpoint": "last"}), data, outputs_in(tmp_path / "fast-last"), seed=11)
    assert best["best_epoch"] == 2 and last["best_epoch"] == 4
    assert last["fingerprints"] == best["fingerprints"]
    with outputs_in(tmp_path / "fast-last").history.open() as handle:
        rows = list(csv.DictReader(handle))
    assert last["valid_loss"] == pytest.approx(float(rows[-1]["valid_loss"])) and last["valid_loss"] > best["valid_loss"]
    assert last["test_loss"] != best["test_loss"]


def test_sgd_steps_are_plain_gradient_steps(data):
    sgd = TRAIN.model_copy(update={"optimizer": "sgd"})
    model, optimizer, _ = training.start_run(TINY, sgd, data.vocab_size, seed=11, device=torch.device("cpu"), embedding=None)
    assert type(optimizer) is torch.optim.SGD and optimizer.defaults["lr"] == 0.02 and optimizer.defaults["momentum"] == 0
    with pytest.raises(ValueError):
        TrainParams(archs=["tiny"], optimizer="adamw")
