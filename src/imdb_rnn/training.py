"""Train one architecture for one seed: epochs, best-validation checkpoint, test once, outputs.

    from imdb_rnn.training import TrainData, OutputPaths, run_training
    metrics = run_training("bilstm2", params.models["bilstm2"], params.train, data, outputs, seed=1234)

The recipe of the original's lineage: Adam at ``train.lr``, binary cross-entropy on the
logit, ``train.epochs`` passes over length-bucketed batches (see :mod:`imdb_rnn.batching`),
validation after each epoch, the weights with the lowest validation loss kept and evaluated
once on the test split.

Reproducible: one seed fixes the initialisation, the dropout masks (torch's generator) and
the batch order (drawn from seed and epoch alone), so two runs on the same CPU with the same
thread count report identical metrics. A bi-LSTM's metrics are the same at any thread count,
so its job may take idle cores as they free up (``max_threads``; see :mod:`imdb_rnn.threads`).

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
import io
import json
import math
import os
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

from .batching import BatchLoader, eval_batches, train_batches
from .config import ModelParams, TrainParams
from .dataset import EncodedSplit, load_split
from .errors import UserError
from .fileio import atomic_path, write_json, write_text
from .fingerprint import EARLY_BATCHES, state_fingerprint
from .models import RecurrentClassifier, build_model, rnn_parameter_count, total_parameter_count
from .numerics import KNOBS, numeric_settings
from .provenance import code_version
from .threads import THREAD_INVARIANT_CELLS, ThreadGovernor, available_cores
from .vocab import PAD_ID, load_tokenizer, vocab_fingerprint

# The contract's six columns (DESIGN.md §5), then the gradient norms of the training loop:
# the L2 norm of all gradients, and of the recurrent layer's alone, per batch, before the
# optimizer step (mean and max over the epoch). They show whether a model learns at all.
HISTORY_COLUMNS = (
    "epoch",
    "train_loss",
    "train_acc",
    "valid_loss",
    "valid_acc",
    "seconds",
    "grad_norm_mean",
    "grad_norm_max",
    "rnn_grad_norm_mean",
    "rnn_grad_norm_max",
)
# 2: history rows carry the weights' fingerprints (format 1 states are ignored, with a note)
# 3: one file = a header line (RESUME_MAGIC, the format, the sha256 of the payload), then the
#    payload torch.save wrote; a bit flipped anywhere is caught before torch.load reads it
RESUME_FORMAT = 3
RESUME_MAGIC = b"imdb_rnn-resume"
# What a resume state's payload must hold, and of which type, before any of it is used.
RESUME_KEYS = {"config_hash": str, "epoch": int, "model": dict, "optimizer": dict, "rng": dict, "history": list, "best": dict}
# The keys of a history row that the end of the run reads, and those only the first epoch's row has.
HISTORY_ROW_KEYS = (*HISTORY_COLUMNS, "train_loop_seconds", "train_tokens", "tokens_total", "tokens_kept", "empty_skipped", "fingerprint")
FIRST_ROW_KEYS = ("early_batches", "early_fingerprint")
BEST_KEYS = ("epoch", "valid_loss", "valid_acc", "state_dict")
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
) -> EpochResult:
    """One training epoch over ``iterator``; raises :class:`Diverged` on a non-finite loss.

    ``after_step(n)`` is called after the optimizer step of the n-th batch (1-based).
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


def evaluate(model: nn.Module, iterator: Batches, criterion: nn.Module, desc: str = "evaluate") -> EpochResult:
    """Loss and accuracy over every example of ``iterator``, without updating the model."""
    model.eval()
    loss_sum, correct, examples, tokens = 0.0, 0, 0, 0
    start = time.perf_counter()
    with torch.no_grad(), _progress(iterator, desc) as bar:
        for text, labels, *padded in bar:
            # A padded batch brings each member's length (see imdb_rnn.batching.eval_batches).
            logits = model(text, padded[0]) if padded else model(text)
            loss_sum += criterion(logits, labels).item() * len(labels)
            correct += int(((logits > 0).float() == labels).sum())
            examples += len(labels)
            tokens += int(padded[0].sum()) if padded else text.numel()
            bar.set_postfix(loss=f"{loss_sum / examples:.4f}", refresh=False)
    return EpochResult(loss_sum / max(examples, 1), correct / max(examples, 1), examples, tokens, time.perf_counter() - start)


@dataclass(frozen=True)
class TrainData:
    """The prepared splits and the vocabulary they were encoded with."""

    train: EncodedSplit
    valid: EncodedSplit
    test: EncodedSplit
    vocab_size: int
    vocab_fingerprint: str

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> TrainData:
        """The prepare stage's ``train/valid/test.npz`` and ``tokenizer.json`` in ``folder``."""
        folder = Path(folder)
        tokenizer = load_tokenizer(folder / "tokenizer.json")
        return cls(
            train=load_split(folder / "train.npz"),
            valid=load_split(folder / "valid.npz"),
            test=load_split(folder / "test.npz"),
            vocab_size=tokenizer.get_vocab_size(),
            vocab_fingerprint=vocab_fingerprint(tokenizer.get_vocab()),
        )

    def check_ids(self) -> None:
        """Refuse splits that hold token ids outside the vocabulary (data and tokenizer disagree)."""
        for name, split in (("train", self.train), ("valid", self.valid), ("test", self.test)):
            if len(split.tokens) and int(split.tokens.max()) >= self.vocab_size:
                raise UserError(
                    f"the {name} split holds token id {int(split.tokens.max())} but the tokenizer has "
                    f"{self.vocab_size} ids; the prepared data is out of date, rerun the prepare stage"
                )
            if len(split) == 0:
                raise UserError(f"the {name} split is empty; check data.limit in params.yaml and rerun prepare")


@dataclass(frozen=True)
class OutputPaths:
    """Where one run writes (DESIGN.md §5), and its resume state."""

    checkpoint: Path
    resume: Path
    metrics: Path
    history: Path
    structure: Path


def configure_cpu(threads: int) -> None:
    """Use ``threads`` CPU threads, and flush denormal floats to zero on all of them.

    Gradients that fade while flowing back through hundreds of time steps become denormal
    (below ~1e-38), and x86 arithmetic on denormals is up to ~100× slower: measured here, a
    2-layer bi-LSTM step on a 64 × 256 batch took ~10 s with them and ~1 s without. Values
    that small change no result. The flag is per thread and a new thread inherits it, so it
    is set before ``set_num_threads``, ahead of the first parallel operation that starts
    torch's worker threads (a process that already ran one keeps those workers as they are).
    """
    torch.set_flush_denormal(True)
    torch.set_num_threads(threads)


def _governor(model_params: ModelParams, device: torch.device, threads: int, max_threads: int) -> ThreadGovernor:
    """Elastic threads for a thread-invariant cell on the CPU; fixed ones for everything else."""
    if max_threads < threads:
        raise UserError(f"max_threads ({max_threads}) is below threads ({threads}); raise it or leave it out")
    max_threads = max(threads, min(max_threads, available_cores()))
    elastic = device.type == "cpu" and model_params.cell in THREAD_INVARIANT_CELLS
    if max_threads > threads and not elastic:
        print(f"note: {model_params.cell} cells keep {threads} thread(s): their results depend on the thread count", flush=True)
    return ThreadGovernor(
        base=threads,
        limit=max_threads if elastic else threads,
        set_threads=torch.set_num_threads,
        log=lambda message: print(message, flush=True),
    )


def _describe_threads(governor: ThreadGovernor) -> str:
    if governor.elastic:
        return f"{governor.base} thread(s), up to {governor.limit} when cores are idle"
    return f"{governor.base} thread(s)"


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
            "seed": seed,
            "device": train_params.device,
        },
        "embedding": {
            "init": embedding_init,
            "sha256": None if embedding is None else hashlib.sha256(np.ascontiguousarray(embedding, dtype=np.float32).tobytes()).hexdigest(),
        },
    }


def _split_digest(split: EncodedSplit) -> str:
    digest = hashlib.sha256()
    for array in (split.tokens, split.offsets, split.labels):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def config_hash(config: dict[str, Any], data: TrainData) -> str:
    """What a resume state must match: everything that shapes the training trajectory.

    The device and thread count are left out (resuming on other hardware is legitimate,
    though the last bits of the floats may then differ); the test split too (it is read
    only after training). The numeric kernels in force (imdb_rnn.numerics) are in: a run
    continued under other kernels would be neither run's numbers.
    """
    trajectory = {k: v for k, v in config["train"].items() if k != "device"}
    trajectory["kernels"] = {name: os.environ.get(name) for name in KNOBS}
    blob = {
        "model": config["model"],
        "train": trajectory,
        "embedding": config["embedding"],
        "vocab": data.vocab_fingerprint,
        "train_split": _split_digest(data.train),
        "valid_split": _split_digest(data.valid),
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _save_torch(path: Path, obj: Any) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(obj, tmp)


def _rng_state(device: torch.device) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


class DamagedResume(Exception):
    """A resume state that cannot be trusted; the message says why."""


class OtherFormat(Exception):
    """A resume state written in another format, by another version of this code."""


def write_resume_state(path: Path, state: dict[str, Any]) -> None:
    """Save ``state`` atomically as a header line (magic, format, sha256 of the payload) and the payload."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    header = b"%s %d sha256:%s\n" % (RESUME_MAGIC, RESUME_FORMAT, hashlib.sha256(payload).hexdigest().encode())
    with atomic_path(path, suffix=".pt") as tmp:
        tmp.write_bytes(header + payload)


def read_resume_state(path: Path) -> dict[str, Any]:
    """The state :func:`write_resume_state` saved at ``path``, checked whole before it is used.

    Raises :class:`OtherFormat` for a state of another format and :class:`DamagedResume` when
    the bytes do not match their checksum, cannot be read, or lack a key :func:`run_training`
    needs. Loaded onto the CPU: RNG states must stay CPU tensors, and ``load_state_dict``
    moves weights and optimizer moments to the model's device.
    """
    data = path.read_bytes()
    header, newline, payload = data.partition(b"\n")
    fields = header.split(b" ")
    if not (newline and len(fields) == 3 and fields[0] == RESUME_MAGIC and fields[2].startswith(b"sha256:")):
        if data.startswith(b"PK\x03\x04"):  # a bare torch.save file: formats 1 and 2
            raise OtherFormat("it was written in an earlier format")
        raise DamagedResume("no resume header")
    if fields[1] != str(RESUME_FORMAT).encode():
        raise OtherFormat(f"it was written in format {fields[1].decode(errors='replace')}, not {RESUME_FORMAT}")
    if hashlib.sha256(payload).hexdigest().encode() != fields[2].removeprefix(b"sha256:"):
        raise DamagedResume("its bytes do not match their checksum")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises many types on a foreign payload
        raise DamagedResume(f"unreadable payload: {exc.__class__.__name__}") from None
    if not isinstance(state, dict):
        raise DamagedResume(f"holds a {type(state).__name__}, not a dict")
    for key, kind in RESUME_KEYS.items():
        if not isinstance(state.get(key), kind):
            raise DamagedResume(f"missing or bad {key!r}")
    history = state["history"]
    rows_whole = all(isinstance(row, dict) and set(HISTORY_ROW_KEYS) <= set(row) for row in history)
    if not (1 <= state["epoch"] == len(history) and rows_whole and set(FIRST_ROW_KEYS) <= set(history[0])):
        raise DamagedResume("missing or bad 'history'")
    if not set(BEST_KEYS) <= set(state["best"]):
        raise DamagedResume("missing or bad 'best'")
    if not isinstance(state["rng"].get("torch"), torch.Tensor):
        raise DamagedResume("missing or bad 'rng'")
    return state


def _load_resume(path: Path, expected_hash: str) -> dict[str, Any] | None:
    """The resume state at ``path`` when it is intact and belongs to this configuration, else None (with a note)."""
    if not path.exists():
        return None
    try:
        state = read_resume_state(path)
    except OtherFormat as exc:
        print(f"note: ignoring resume state {path}: {exc}; starting fresh", file=sys.stderr)
        return None
    except (DamagedResume, OSError) as exc:
        print(f"note: ignoring damaged resume state {path} ({exc}); starting fresh", file=sys.stderr)
        return None
    if state["config_hash"] != expected_hash:
        print(f"note: ignoring resume state {path}: it belongs to another configuration; starting fresh", file=sys.stderr)
        return None
    return state


def _resume_into(state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Load ``state`` into ``model``, ``optimizer`` and the RNG; raises when a part does not fit them."""
    # The best weights are loaded first only to check that they fit: the end of the run loads them again.
    model.load_state_dict(state["best"]["state_dict"])
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    _restore_rng(state["rng"], device)


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    lines = [",".join(HISTORY_COLUMNS)]
    lines += [",".join(str(row[column]) for column in HISTORY_COLUMNS) for row in history]
    write_text(path, "\n".join(lines) + "\n")


def start_run(
    model_params: ModelParams, train_params: TrainParams, vocab_size: int, *, seed: int, device: torch.device, embedding: np.ndarray | None
) -> tuple[RecurrentClassifier, torch.optim.Optimizer, nn.Module]:
    """The model as ``seed`` initialises it, its optimizer and loss: every run starts here."""
    torch.manual_seed(seed)
    model = build_model(model_params, vocab_size, pad_idx=PAD_ID, embedding=embedding).to(device)
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
    plan = train_batches(data.train.lengths, train_params.batch_size, seed, 1)
    count = min(batches, len(plan.batches))
    train(model, BatchLoader(data.train, plan.batches[:count], device), optimizer, criterion, desc=desc)
    return count, state_fingerprint(model.state_dict())


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
    """Train ``arch`` with ``seed``, write the outputs of DESIGN.md §5, return the metrics.

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
    governor = _governor(model_params, run_device, threads, threads if max_threads is None else max_threads)
    config = resolved_config(model_params, train_params, seed, embedding_init, embedding)
    expected_hash = config_hash(config, data)

    model, optimizer, criterion = start_run(model_params, train_params, data.vocab_size, seed=seed, device=run_device, embedding=embedding)
    print(
        f"{arch} (seed {seed}, {run_device}, {_describe_threads(governor)}): "
        f"{rnn_parameter_count(model):,} recurrent / {total_parameter_count(model):,} total parameters",
        flush=True,
    )

    history: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    state = _load_resume(outputs.resume, expected_hash)
    if state is not None:
        try:
            _resume_into(state, model, optimizer, run_device)
        except (RuntimeError, KeyError, TypeError, ValueError, IndexError) as exc:
            # Part of the state may already be loaded: start again from the seed's own model.
            print(
                f"note: ignoring damaged resume state {outputs.resume} (it does not fit the model: {exc.__class__.__name__}); starting fresh",
                file=sys.stderr,
            )
            model, optimizer, criterion = start_run(model_params, train_params, data.vocab_size, seed=seed, device=run_device, embedding=embedding)
        else:
            history, best = state["history"], state["best"]
            print(f"resuming {arch} after epoch {state['epoch']} from {outputs.resume}", flush=True)

    valid_loader = governor.watch(BatchLoader(data.valid, eval_batches(data.valid.lengths, train_params.batch_size), run_device))
    for epoch in range(len(history) + 1, train_params.epochs + 1):
        started = time.perf_counter()
        plan = train_batches(data.train.lengths, train_params.batch_size, seed, epoch)
        try:
            loader = governor.watch(BatchLoader(data.train, plan.batches, run_device))
            early = _EarlyFingerprint(model, min(EARLY_BATCHES, len(plan.batches)) if epoch == 1 else 0)
            trained = train(model, loader, optimizer, criterion, desc=f"{arch} epoch {epoch} train", after_step=early)
        except Diverged as exc:
            kept = (
                f"the resume state of epoch {epoch - 1} is kept at {outputs.resume}"
                if history
                else "no epoch had completed, so there is no resume state"
            )
            raise UserError(
                f"training diverged at epoch {epoch} batch {exc.batch} (loss {exc.loss}); lower train.lr "
                f"(now {train_params.lr}) or try another seed; {kept}"
            ) from None
        validated = evaluate(model, valid_loader, criterion, desc=f"{arch} epoch {epoch} valid")
        row = {
            "epoch": epoch,
            "train_loss": trained.loss,
            "train_acc": trained.acc,
            "valid_loss": validated.loss,
            "valid_acc": validated.acc,
            "seconds": round(time.perf_counter() - started, 3),
            **{name: round(value, 6) for name, value in zip(HISTORY_COLUMNS[6:], trained.grad_norms, strict=True)},
            "train_loop_seconds": trained.seconds,
            "train_tokens": trained.tokens,
            "tokens_total": plan.tokens_total,
            "tokens_kept": plan.tokens_kept,
            "empty_skipped": plan.empty_skipped,
            # the weights after this epoch's training, and (epoch 1) after its first batches
            "fingerprint": state_fingerprint(model.state_dict()),
            **({"early_batches": early.batches, "early_fingerprint": early.value} if epoch == 1 else {}),
        }
        history.append(row)
        if best is None or validated.loss < best["valid_loss"]:
            best = {"epoch": epoch, "valid_loss": validated.loss, "valid_acc": validated.acc, "state_dict": _clone_state(model)}
        print(
            f"{arch} epoch {epoch}/{train_params.epochs}: train loss {trained.loss:.4f} acc {trained.acc:.2%} | "
            f"valid loss {validated.loss:.4f} acc {validated.acc:.2%} | {trained.tokens / trained.seconds:,.0f} tok/s, "
            f"{row['seconds']:.0f} s, {plan.dropped_fraction:.2%} of tokens truncated",
            flush=True,
        )
        write_resume_state(
            outputs.resume,
            {
                "config_hash": expected_hash,
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": _rng_state(run_device),
                "history": history,
                "best": best,
            },
        )

    assert best is not None  # epochs >= 1 is validated by TrainParams
    model.load_state_dict(best["state_dict"])
    test_loader = governor.watch(BatchLoader(data.test, eval_batches(data.test.lengths, train_params.batch_size), run_device))
    tested = evaluate(model, test_loader, criterion, desc=f"{arch} test (epoch {best['epoch']} weights)")
    metrics = _metrics(arch, model, history, best, tested, seed=seed, device=run_device, governor=governor, embedding_init=embedding_init)
    metrics["numerics"] = numeric_settings(numerics)
    print(f"{arch}: test loss {tested.loss:.4f} acc {tested.acc:.2%} (best epoch {best['epoch']})", flush=True)

    write_text(outputs.structure, str(model) + "\n")
    _write_history(outputs.history, history)
    weights = {key: value.cpu() for key, value in best["state_dict"].items()}
    _save_torch(
        outputs.checkpoint,
        {
            "state_dict": weights,
            # models.load_checkpoint recomputes it: a flipped bit in the weights is refused, not used
            "state_fingerprint": state_fingerprint(weights),
            "config": config,
            "vocab_fingerprint": data.vocab_fingerprint,
            "vocab_size": data.vocab_size,
            "arch": arch,
            "seed": seed,
        },
    )
    # Written last: a metrics file means every other output of the run is complete.
    write_json(outputs.metrics, metrics)
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
    embedding_init: str,
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
        "embedding_init": embedding_init,
        "code_version": code_version(),
        "fingerprints": {
            "early": {"batches": history[0]["early_batches"], "state": history[0]["early_fingerprint"]},
            "epochs": [row["fingerprint"] for row in history],
        },
    }


def load_embedding(path: str | os.PathLike[str]) -> np.ndarray:
    """A float32 [vocab, dim] matrix from a ``.npy`` file, with a clear error when unusable."""
    path = Path(path)
    try:
        matrix = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"missing {path}; run the embed stage first, or pass --embedding none for random vectors") from None
    except ValueError as exc:
        raise UserError(f"{path} is not a .npy matrix ({exc}); delete it and rerun the embed stage") from None
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.floating):
        raise UserError(f"{path}: expected a float matrix [vocab, dim], got {matrix.dtype} {matrix.shape}; rerun the embed stage")
    if not np.isfinite(matrix).all():
        raise UserError(f"{path}: holds NaN or infinite values; rerun the embed stage")
    return matrix.astype(np.float32, copy=False)
