"""Train one architecture for one seed: epochs, best-validation checkpoint, test once, outputs.

    from imdb_rnn.train.training import TrainData, OutputPaths, run_training
    metrics = run_training("bilstm2", params.models["bilstm2"], params.train, data, outputs, seed=1234)

The recipe of the original's lineage: Adam at ``train.lr``, binary cross-entropy on the
logit, ``train.epochs`` passes over length-bucketed batches (see :mod:`imdb_rnn.train.batching`),
validation after each epoch, the weights with the lowest validation loss kept and evaluated
once on the test split. Three keys change the recipe for ablations: ``train.optimizer``
(plain SGD), ``train.batching`` (tutorial-style padded batches read through the padding) and
``train.checkpoint`` (test the last epoch's weights).

Reproducible: one seed fixes the initialisation, the dropout masks (torch's generator) and
the batch order (drawn from seed and epoch alone), so two runs on the same CPU with the same
thread count report identical metrics. A bi-LSTM's metrics are the same at any thread count,
so its job may take idle cores as they free up (``max_threads``; see :mod:`imdb_rnn.train.threads`).

Resumable: after each completed epoch the whole training state (weights, optimizer, torch
RNG state, history, best weights) is saved atomically to the resume path, behind a header
that holds the sha256 of the saved bytes. Rerunning the same command continues after the
last completed epoch and ends with the same metrics as an uninterrupted run. A resume state
written for another configuration (params, seed, embedding, vocabulary or training data:
see :func:`config_hash`) is ignored with a note; so is a damaged one (checksum mismatch,
truncated, unreadable, a key missing or of the wrong type), and that run starts fresh.
The state is deleted once every output is written: it exists to survive a crash, and a
stale one must never stand in for training after the code changes.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from imdb_rnn.config import ModelParams, TrainParams
from imdb_rnn.data.dataset import EncodedSplit
from imdb_rnn.data.vocab import PAD_ID
from imdb_rnn.errors import UserError
from imdb_rnn.fileio import write_json, write_text
from imdb_rnn.fingerprint import EARLY_BATCHES, state_fingerprint
from imdb_rnn.numerics import numeric_settings
from imdb_rnn.provenance import code_version
from imdb_rnn.records import GRAD_NORM_COLUMNS, review_names, write_predictions
from imdb_rnn.train.batching import BatchLoader, eval_batches, plan_train_batches
from imdb_rnn.train.files import OutputPaths, TrainData, save_torch, write_history
from imdb_rnn.train.models import RecurrentClassifier, build_model, rnn_parameter_count, total_parameter_count
from imdb_rnn.train.resume import config_hash, load_resume, resume_into, rng_state, write_resume_state
from imdb_rnn.train.threads import ThreadGovernor, configure_cpu, describe_threads, run_governor

# A progress bar redraws at most this often (seconds): often on a terminal, rarely in a log
# file, where every redraw is kept.
PROGRESS_INTERVAL_TTY = 0.5
PROGRESS_INTERVAL_LOG = 30.0

# What train() and evaluate() read: anything with a length that yields (text [L, B], labels [B]),
# or for evaluate also (text, labels, lengths [B]) with text right-padded.
Batches = BatchLoader | Sequence[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class EpochResult:
    """One pass over a split: mean loss and accuracy over its examples."""

    loss: float
    acc: float
    examples: int
    tokens: int
    seconds: float
    grad_norms: tuple[float, float, float, float] = (math.nan, math.nan, math.nan, math.nan)
    """Training only: gradient L2 norm mean and max, then the recurrent layer's mean and max."""


class Diverged(Exception):
    """The loss of a training batch was NaN or infinite."""

    def __init__(self, batch: int, loss: float):
        super().__init__(f"batch {batch} (loss {loss})")
        self.batch = batch
        self.loss = loss


def _progress(iterator: Batches, desc: str) -> tqdm:
    interval = PROGRESS_INTERVAL_TTY if sys.stderr.isatty() else PROGRESS_INTERVAL_LOG
    return tqdm(iterator, total=len(iterator), desc=desc, unit="batch", file=sys.stderr, mininterval=interval, leave=True)


def _grad_norm(parameters: Sequence[nn.Parameter]) -> torch.Tensor:
    """The L2 norm of the gradients of ``parameters`` taken together (no copy, no sync)."""
    norms = [torch.linalg.vector_norm(p.grad) for p in parameters if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros(())


def train(
    model: nn.Module,
    iterator: Batches,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    desc: str = "train",
    after_step: Callable[[int], None] | None = None,
    clip_norm: float | None = None,
) -> EpochResult:
    """One training epoch over ``iterator``; raises :class:`Diverged` on a non-finite loss.

    ``after_step(n)`` is called after the optimizer step of the n-th batch (1-based).
    ``clip_norm`` rescales each batch's gradients to at most that L2 norm (all parameters
    together) before the step; None leaves them alone. The recorded norms are the unclipped ones.
    """
    model.train()
    loss_sum, correct, examples, tokens = 0.0, 0, 0, 0
    everything = [p for p in model.parameters() if p.requires_grad]
    recurrent = list(model.rnn_layer.parameters()) if isinstance(model, RecurrentClassifier) else []
    norms: list[torch.Tensor] = []
    start = time.perf_counter()
    with _progress(iterator, desc) as bar:
        for number, (text, labels) in enumerate(bar, start=1):
            optimizer.zero_grad()
            logits = model(text)
            loss = criterion(logits, labels)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise Diverged(number, loss_value)
            loss.backward()
            norms.append(torch.stack([_grad_norm(everything), _grad_norm(recurrent)]))
            if clip_norm is not None:
                nn.utils.clip_grad_norm_(everything, clip_norm)
            optimizer.step()
            if after_step is not None:
                after_step(number)
            # Sums over examples, not a mean of batch means: batches differ in size.
            loss_sum += loss_value * len(labels)
            correct += int(((logits > 0).float() == labels).sum())
            examples += len(labels)
            tokens += text.numel()
            bar.set_postfix(loss=f"{loss_sum / examples:.4f}", tok_s=f"{tokens / (time.perf_counter() - start):.0f}", refresh=False)
    seconds = time.perf_counter() - start
    stacked = torch.stack(norms).cpu() if norms else torch.full((1, 2), math.nan)
    mean, peak = stacked.mean(dim=0).tolist(), stacked.max(dim=0).values.tolist()
    return EpochResult(loss_sum / max(examples, 1), correct / max(examples, 1), examples, tokens, seconds, (mean[0], peak[0], mean[1], peak[1]))


def evaluate(
    model: nn.Module, iterator: Batches, criterion: nn.Module, desc: str = "evaluate", logits_out: list[torch.Tensor] | None = None
) -> EpochResult:
    """Loss and accuracy over every example of ``iterator``, without updating the model.

    ``logits_out``, when given, receives each batch's logits (CPU tensors) in batch order.
    """
    model.eval()
    loss_sum, correct, examples, tokens = 0.0, 0, 0, 0
    start = time.perf_counter()
    with torch.no_grad(), _progress(iterator, desc) as bar:
        for text, labels, *padded in bar:
            # A padded batch brings each member's length (see imdb_rnn.train.batching.eval_batches).
            logits = model(text, padded[0]) if padded else model(text)
            if logits_out is not None:
                logits_out.append(logits.detach().cpu())
            loss_sum += criterion(logits, labels).item() * len(labels)
            correct += int(((logits > 0).float() == labels).sum())
            examples += len(labels)
            tokens += int(padded[0].sum()) if padded else text.numel()
            bar.set_postfix(loss=f"{loss_sum / examples:.4f}", refresh=False)
    return EpochResult(loss_sum / max(examples, 1), correct / max(examples, 1), examples, tokens, time.perf_counter() - start)


def resolve_device(requested: str) -> torch.device:
    """``auto`` → cuda when available, else cpu; ``cuda`` without a GPU is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device is cuda but no CUDA GPU is visible; set train.device: auto or cpu")
    return torch.device(requested)


def resolved_config(
    model_params: ModelParams, train_params: TrainParams, seed: int, embedding_init: str, embedding: np.ndarray | None
) -> dict[str, Any]:
    """The configuration a checkpoint carries, so that it explains itself."""
    return {
        "model": model_params.model_dump(mode="json"),
        "train": {
            "epochs": train_params.epochs,
            "batch_size": train_params.batch_size,
            "lr": train_params.lr,
            "clip_norm": train_params.clip_norm,
            "optimizer": train_params.optimizer,
            "batching": train_params.batching,
            "checkpoint": train_params.checkpoint,
            "seed": seed,
            "device": train_params.device,
        },
        "embedding": {
            "init": embedding_init,
            "sha256": None if embedding is None else hashlib.sha256(np.ascontiguousarray(embedding, dtype=np.float32).tobytes()).hexdigest(),
        },
    }


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def start_run(
    model_params: ModelParams, train_params: TrainParams, vocab_size: int, *, seed: int, device: torch.device, embedding: np.ndarray | None
) -> tuple[RecurrentClassifier, torch.optim.Optimizer, nn.Module]:
    """The model as ``seed`` initialises it, its optimizer and loss: every run starts here."""
    torch.manual_seed(seed)
    model = build_model(model_params, vocab_size, pad_idx=PAD_ID, embedding=embedding).to(device)
    if train_params.optimizer == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=train_params.lr)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=train_params.lr)
    return model, optimizer, nn.BCEWithLogitsLoss().to(device)


class _EarlyFingerprint:
    """An ``after_step`` hook that fingerprints the weights after the ``batches``-th step."""

    def __init__(self, model: nn.Module, batches: int):
        self.model, self.batches, self.value = model, batches, None

    def __call__(self, number: int) -> None:
        if number == self.batches:
            self.value = state_fingerprint(self.model.state_dict())


def early_fingerprint(
    model_params: ModelParams,
    train_params: TrainParams,
    data: TrainData,
    *,
    seed: int,
    embedding: np.ndarray | None,
    batches: int = EARLY_BATCHES,
    desc: str = "verify",
) -> tuple[int, str]:
    """(n, fingerprint of the weights after the first n batches of epoch 1) on the CPU.

    Exactly the first steps of :func:`run_training` with the same seed and data, stopped
    early: the number a published run records as ``fingerprints.early``. The caller sets
    the thread count.
    """
    device = torch.device("cpu")
    model, optimizer, criterion = start_run(model_params, train_params, data.vocab_size, seed=seed, device=device, embedding=embedding)
    plan = plan_train_batches(train_params.batching, data.train.lengths, train_params.batch_size, seed, 1)
    count = min(batches, len(plan.batches))
    loader = BatchLoader(data.train, plan.batches[:count], device, read_padding=train_params.batching == "padded")
    train(model, loader, optimizer, criterion, desc=desc, clip_norm=train_params.clip_norm)
    return count, state_fingerprint(model.state_dict())


@dataclass
class _Progress:
    """What a run carries from epoch to epoch: the history rows and the best weights so far."""

    history: list[dict[str, Any]]
    best: dict[str, Any] | None = None


def _resume_or_start(
    arch: str, start: Callable[[], tuple[RecurrentClassifier, torch.optim.Optimizer, nn.Module]], path: Path, expected_hash: str, device: torch.device
) -> tuple[RecurrentClassifier, torch.optim.Optimizer, nn.Module, _Progress]:
    """The run's model, optimizer and loss, continued from the resume state at ``path`` when it
    is intact and belongs to this configuration, else fresh from ``start()``."""
    model, optimizer, criterion = start()
    state = load_resume(path, expected_hash)
    if state is None:
        return model, optimizer, criterion, _Progress(history=[])
    try:
        resume_into(state, model, optimizer, device)
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError) as exc:
        # Part of the state may already be loaded: start again from the seed's own model.
        print(f"note: ignoring damaged resume state {path} (it does not fit the model: {exc.__class__.__name__}); starting fresh", file=sys.stderr)
        model, optimizer, criterion = start()
        return model, optimizer, criterion, _Progress(history=[])
    print(f"resuming {arch} after epoch {state['epoch']} from {path}", flush=True)
    return model, optimizer, criterion, _Progress(history=state["history"], best=state["best"])


def _epoch_row(
    epoch: int, trained: EpochResult, validated: EpochResult, plan: Any, seconds: float, fingerprint: str, early: _EarlyFingerprint
) -> dict[str, Any]:
    """One history row: the contract's columns, the gradient norms, then what the run's end sums."""
    return {
        "epoch": epoch,
        "train_loss": trained.loss,
        "train_acc": trained.acc,
        "valid_loss": validated.loss,
        "valid_acc": validated.acc,
        "seconds": round(seconds, 3),
        **{name: round(value, 6) for name, value in zip(GRAD_NORM_COLUMNS, trained.grad_norms, strict=True)},
        "train_loop_seconds": trained.seconds,
        "train_tokens": trained.tokens,
        "tokens_total": plan.tokens_total,
        "tokens_kept": plan.tokens_kept,
        "empty_skipped": plan.empty_skipped,
        # the weights after this epoch's training, and (epoch 1) after its first batches
        "fingerprint": fingerprint,
        **({"early_batches": early.batches, "early_fingerprint": early.value} if epoch == 1 else {}),
    }


def _diverged(exc: Diverged, epoch: int, train_params: TrainParams, progress: _Progress, resume: Path) -> UserError:
    kept = f"the resume state of epoch {epoch - 1} is kept at {resume}" if progress.history else "no epoch had completed, so there is no resume state"
    return UserError(
        f"training diverged at epoch {epoch} batch {exc.batch} (loss {exc.loss}); lower train.lr (now {train_params.lr}) or try another seed; {kept}"
    )


def _test_predictions(
    model: nn.Module, loader: BatchLoader, governor: ThreadGovernor, criterion: nn.Module, desc: str
) -> tuple[EpochResult, np.ndarray]:
    """Test loss and accuracy, and every review's logit in the split's order (the loader reads
    each review exactly once, in batches sorted by length)."""
    logits: list[torch.Tensor] = []
    tested = evaluate(model, governor.watch(loader), criterion, desc=desc, logits_out=logits)
    ordered = np.full(len(loader.split), np.nan, dtype=np.float32)
    if logits:
        ordered[np.concatenate([batch.indices for batch in loader.batches])] = torch.cat(logits).numpy()
    return tested, ordered


def _epoch_line(trained: EpochResult, validated: EpochResult, row: dict[str, Any], plan: Any) -> str:
    return (
        f"train loss {trained.loss:.4f} acc {trained.acc:.2%} | valid loss {validated.loss:.4f} acc {validated.acc:.2%} | "
        f"{trained.tokens / trained.seconds:,.0f} tok/s, {row['seconds']:.0f} s, {plan.dropped_fraction:.2%} of tokens truncated"
    )


def _checkpoint(best: dict[str, Any], config: dict[str, Any], data: TrainData, arch: str, seed: int) -> dict[str, Any]:
    """What the checkpoint file holds: the best epoch's weights on the CPU, and what explains them."""
    weights = {key: value.cpu() for key, value in best["state_dict"].items()}
    return {
        "state_dict": weights,
        # models.load_checkpoint recomputes it: a flipped bit in the weights is refused, not used
        "state_fingerprint": state_fingerprint(weights),
        "config": config,
        "vocab_fingerprint": data.vocab_fingerprint,
        "vocab_size": data.vocab_size,
        "arch": arch,
        "seed": seed,
    }


def _write_outputs(
    outputs: OutputPaths,
    model: nn.Module,
    progress: _Progress,
    checkpoint: dict[str, Any],
    metrics: dict[str, Any],
    test: EncodedSplit,
    logits: np.ndarray,
) -> None:
    """Every output of the run; the metrics last, so that a metrics file means the rest is complete."""
    write_text(outputs.structure, str(model) + "\n")
    write_history(outputs.history, progress.history)
    if outputs.predictions is not None:
        write_predictions(outputs.predictions, review_names(test.ids, test.labels, test.ratings), test.labels, test.lengths, logits)
    save_torch(outputs.checkpoint, checkpoint)
    write_json(outputs.metrics, metrics)


def run_training(
    arch: str,
    model_params: ModelParams,
    train_params: TrainParams,
    data: TrainData,
    outputs: OutputPaths,
    *,
    seed: int,
    threads: int = 1,
    max_threads: int | None = None,
    embedding: np.ndarray | None = None,
    embedding_init: str = "random",
    numerics: str | None = None,
) -> dict[str, Any]:
    """Train ``arch`` with ``seed``, write the outputs of docs/pipeline.md (output contract), return the metrics.

    ``embedding`` (float [vocab, dim], aligned to token ids) replaces the random embedding
    initialisation; ``embedding_init`` names where it came from. ``train_seconds`` in the
    metrics is the wall time of all epochs (training and validation);
    ``train_tokens_per_second`` counts only the training loops (tokens read / seconds in them).

    ``threads`` CPU threads to start with; up to ``max_threads`` (default: ``threads``) when
    cores sit idle, for cells whose results do not depend on the thread count.
    ``numerics`` names the kernel setting the process was pinned to (``numerics.cpu``); the
    metrics record it with the kernels, packages and CPU in force (``numerics``) and the
    weights' fingerprints (``fingerprints``), which ``verify`` compares on other machines.
    """
    data.check_ids()
    configure_cpu(threads)
    run_device = resolve_device(train_params.device)
    governor = run_governor(model_params, run_device, threads, threads if max_threads is None else max_threads)
    config = resolved_config(model_params, train_params, seed, embedding_init, embedding)
    expected_hash = config_hash(config, data)

    def start() -> tuple[RecurrentClassifier, torch.optim.Optimizer, nn.Module]:
        return start_run(model_params, train_params, data.vocab_size, seed=seed, device=run_device, embedding=embedding)

    model, optimizer, criterion, progress = _resume_or_start(arch, start, outputs.resume, expected_hash, run_device)
    print(
        f"{arch} (seed {seed}, {run_device}, {describe_threads(governor)}): "
        f"{rnn_parameter_count(model):,} recurrent / {total_parameter_count(model):,} total parameters",
        flush=True,
    )
    read_padding = train_params.batching == "padded"
    valid_batches = eval_batches(data.valid.lengths, train_params.batch_size)
    valid_loader = governor.watch(BatchLoader(data.valid, valid_batches, run_device, read_padding=read_padding))
    for epoch in range(len(progress.history) + 1, train_params.epochs + 1):
        started = time.perf_counter()
        plan = plan_train_batches(train_params.batching, data.train.lengths, train_params.batch_size, seed, epoch)
        loader = governor.watch(BatchLoader(data.train, plan.batches, run_device, read_padding=read_padding))
        early = _EarlyFingerprint(model, min(EARLY_BATCHES, len(plan.batches)) if epoch == 1 else 0)
        try:
            trained = train(
                model, loader, optimizer, criterion, desc=f"{arch} epoch {epoch} train", after_step=early, clip_norm=train_params.clip_norm
            )
        except Diverged as exc:
            raise _diverged(exc, epoch, train_params, progress, outputs.resume) from None
        validated = evaluate(model, valid_loader, criterion, desc=f"{arch} epoch {epoch} valid")
        row = _epoch_row(epoch, trained, validated, plan, time.perf_counter() - started, state_fingerprint(model.state_dict()), early)
        progress.history.append(row)
        # train.checkpoint: best keeps the lowest validation loss so far, last every epoch's weights
        if progress.best is None or train_params.checkpoint == "last" or validated.loss < progress.best["valid_loss"]:
            progress.best = {"epoch": epoch, "valid_loss": validated.loss, "valid_acc": validated.acc, "state_dict": _clone_state(model)}
        print(f"{arch} epoch {epoch}/{train_params.epochs}: {_epoch_line(trained, validated, row, plan)}", flush=True)
        state = {"config_hash": expected_hash, "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}
        write_resume_state(outputs.resume, {**state, "rng": rng_state(run_device), "history": progress.history, "best": progress.best})

    best = progress.best
    assert best is not None  # epochs >= 1 is validated by TrainParams
    model.load_state_dict(best["state_dict"])
    test_loader = BatchLoader(data.test, eval_batches(data.test.lengths, train_params.batch_size), run_device, read_padding=read_padding)
    tested, logits = _test_predictions(model, test_loader, governor, criterion, f"{arch} test (epoch {best['epoch']} weights)")
    metrics = _metrics(arch, model, progress.history, best, tested, seed=seed, device=run_device, governor=governor, config=config)
    metrics["numerics"] = numeric_settings(numerics)
    print(f"{arch}: test loss {tested.loss:.4f} acc {tested.acc:.2%} (best epoch {best['epoch']})", flush=True)
    _write_outputs(outputs, model, progress, _checkpoint(best, config, data, arch, seed), metrics, data.test, logits)
    outputs.resume.unlink(missing_ok=True)
    return metrics


def _metrics(
    arch: str,
    model: RecurrentClassifier,
    history: list[dict[str, Any]],
    best: dict[str, Any],
    tested: EpochResult,
    *,
    seed: int,
    device: torch.device,
    governor: ThreadGovernor,
    config: dict[str, Any],
) -> dict[str, Any]:
    loop_seconds = sum(row["train_loop_seconds"] for row in history)
    tokens_total = sum(row["tokens_total"] for row in history)
    return {
        "arch": arch,
        "test_acc": tested.acc,
        "test_loss": tested.loss,
        "valid_acc": best["valid_acc"],
        "valid_loss": best["valid_loss"],
        "best_epoch": best["epoch"],
        "rnn_params": rnn_parameter_count(model),
        "total_params": total_parameter_count(model),
        "epochs": len(history),
        "train_seconds": round(sum(row["seconds"] for row in history), 3),
        "train_tokens_per_second": round(sum(row["train_tokens"] for row in history) / loop_seconds, 1) if loop_seconds else 0.0,
        "tokens_dropped_fraction": 1.0 - sum(row["tokens_kept"] for row in history) / tokens_total if tokens_total else 0.0,
        "empty_train_reviews_skipped": history[-1]["empty_skipped"],
        "seed": seed,
        "device": device.type,
        "threads": governor.base,
        "max_threads": governor.limit,
        # seconds of the run at each thread count, e.g. {"1": 1480.2, "2": 903.5}
        "thread_seconds": {str(count): seconds for count, seconds in sorted(governor.thread_seconds().items())},
        "embedding_init": config["embedding"]["init"],
        # the recipe the run followed, so that a results folder can be checked against the params
        # that claim it (an experiment's export does)
        "train": {key: value for key, value in config["train"].items() if key not in ("seed", "device")},
        "code_version": code_version(),
        "fingerprints": {
            "early": {"batches": history[0]["early_batches"], "state": history[0]["early_fingerprint"]},
            "epochs": [row["fingerprint"] for row in history],
        },
    }
