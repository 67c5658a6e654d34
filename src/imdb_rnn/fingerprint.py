"""Fingerprints of model weights: equal exactly when every weight is equal to the last bit.

    from imdb_rnn.fingerprint import state_fingerprint
    state_fingerprint(model.state_dict())     # "3f1c…" (sha256, hex)

Training writes them during each run (after the first batches and after every epoch, see
:mod:`imdb_rnn.train.training`) and ``verify`` recomputes them, so that two machines can tell
whether they computed the same thing without exchanging checkpoints. A checkpoint file's
own hash cannot serve: ``torch.save`` writes a random serialization id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import torch

# Training fingerprints the state after this many batches of epoch 1 (or after the whole
# epoch when it has fewer): minutes of work to check on any machine, enough steps for a
# kernel difference to show (it shows after one).
EARLY_BATCHES = 50


def state_fingerprint(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the names, dtypes, shapes and bytes of every tensor, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()
