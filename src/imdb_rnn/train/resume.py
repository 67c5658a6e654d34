"""A training run's resume state: written after every epoch, checked whole before it is used.

    from imdb_rnn.train.resume import write_resume_state, load_resume, config_hash
    write_resume_state(path, {"config_hash": ..., "epoch": 2, "model": ..., ...})
    state = load_resume(path, expected_hash)   # None (with a note) when absent, foreign or damaged

One file = a header line (RESUME_MAGIC, the format, the sha256 of the payload), then the payload
torch.save wrote, so a bit flipped anywhere is caught before torch.load reads it. A state
written for another configuration (:func:`config_hash`: params, seed, embedding, vocabulary,
training data, kernels) or in another format is ignored with a note, and the run starts fresh.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from imdb_rnn.fileio import atomic_path
from imdb_rnn.numerics import KNOBS
from imdb_rnn.records import HISTORY_COLUMNS

if TYPE_CHECKING:
    from imdb_rnn.data.dataset import EncodedSplit
    from imdb_rnn.train.files import TrainData

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


def rng_state(device: torch.device) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
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


def load_resume(path: Path, expected_hash: str) -> dict[str, Any] | None:
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


def resume_into(state: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Load ``state`` into ``model``, ``optimizer`` and the RNG; raises when a part does not fit them."""
    # The best weights are loaded first only to check that they fit: the end of the run loads them again.
    model.load_state_dict(state["best"]["state_dict"])
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    restore_rng(state["rng"], device)
