"""The four recurrent sentiment classifiers of the report, built from one generic class.

    from imdb_rnn.train.models import build_model, rnn_parameter_count
    model = build_model(params.models["bilstm2"], vocab_size=25002)
    print(model)                      # reads exactly as in the original report
    rnn_parameter_count(model)        # 1,446,400
    model, checkpoint = load_checkpoint("models/bilstm2/seed1234.pt")   # what the train stage wrote

Layout: token ids arrive sequence-first, ``text = [sent len, batch size]``, because the
recurrent layers keep PyTorch's default ``batch_first=False`` — ``batch_first=True`` would
add ``batch_first=True`` to ``print(model)`` and break the report's printout.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from torch import nn

from imdb_rnn.config import ModelParams
from imdb_rnn.data.vocab import PAD_ID
from imdb_rnn.errors import UserError
from imdb_rnn.fingerprint import state_fingerprint

# cell name -> (layer class, attribute name the report's printout shows)
CELLS: dict[str, tuple[type[nn.RNNBase], str]] = {
    "lstm": (nn.LSTM, "lstm"),
    "rnn": (nn.RNN, "rnn"),
    "gru": (nn.GRU, "gru"),
}


class RecurrentClassifier(nn.Module):
    """Embedding → recurrent layer(s) → Linear on the final hidden state → one logit.

    Modules are registered in the order the report prints them: embedding, the recurrent
    layer, fc, dropout. ``build_model`` gives each architecture its report class name.
    """

    def __init__(self, params: ModelParams, vocab_size: int, pad_idx: int = PAD_ID, embedding: torch.Tensor | np.ndarray | None = None):
        super().__init__()
        layer_class, self.rnn_attr = CELLS[params.cell]
        self.is_lstm = params.cell == "lstm"
        self.bidirectional = params.bidirectional
        self.embedding = nn.Embedding(vocab_size, params.embedding_dim, padding_idx=pad_idx)
        # PyTorch applies an RNN's dropout only between stacked layers, so with one layer it
        # is a no-op that PyTorch warns about. The original printout still shows dropout=0.5
        # there; build with 0 (no warning) and set the attribute afterwards (same no-op).
        stacked = params.num_layers > 1
        rnn = layer_class(
            params.embedding_dim,
            params.hidden_dim,
            num_layers=params.num_layers,
            dropout=params.dropout if stacked else 0.0,
            bidirectional=params.bidirectional,
        )
        if not stacked:
            rnn.dropout = params.dropout
        setattr(self, self.rnn_attr, rnn)
        directions = 2 if params.bidirectional else 1
        self.fc = nn.Linear(params.hidden_dim * directions, 1)
        self.dropout = nn.Dropout(params.dropout)
        if embedding is not None:
            self.load_embedding(embedding)

    @property
    def rnn_layer(self) -> nn.RNNBase:
        """The recurrent layer, whatever the report calls it (``lstm``, ``rnn`` or ``gru``)."""
        return getattr(self, self.rnn_attr)

    def load_embedding(self, vectors: torch.Tensor | np.ndarray) -> None:
        """Copy pretrained vectors [vocab, dim] (aligned to token ids) into the embedding.

        The ``<pad>`` row is zeroed: ``padding_idx`` promises a zero vector that never trains.
        """
        vectors = torch.as_tensor(vectors, dtype=torch.float32)
        expected = tuple(self.embedding.weight.shape)
        if tuple(vectors.shape) != expected:
            raise UserError(
                f"pretrained embedding has shape {tuple(vectors.shape)}, the model needs {expected} "
                "(vocabulary size × embedding_dim); rebuild it with the embed stage after prepare"
            )
        with torch.no_grad():
            self.embedding.weight.copy_(vectors)
            self.embedding.weight[self.embedding.padding_idx].zero_()

    def forward(self, text: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits for ``text`` = [sent len, batch size].

        Without ``lengths`` every sequence is read in full (training's equal-length batches):
        one call of the fused recurrent kernel. With ``lengths`` [batch size], ``text`` is
        right-padded and each sequence is read only up to its own length, exactly as if it
        were alone in the batch (see :meth:`_final_hidden_padded`): evaluation batches
        reviews of nearly equal length this way.
        """
        # text = [sent len, batch size]
        embedded = self.dropout(self.embedding(text))
        # embedded = [sent len, batch size, emb dim]
        if lengths is None:
            _output, state = self.rnn_layer(embedded)
            # output = [sent len, batch size, hid dim * n directions]
            finals = self._last_layer_finals(state)
        else:
            finals = self._final_hidden_padded(embedded, lengths)
        return self._classify(finals)

    def forward_packed(self, text: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits for a right-padded ``text`` read through ``pack_padded_sequence``, tutorial style.

        Same result as ``forward(text, lengths)``; it exists for comparison in
        ``benchmarks/train_throughput.py``: on CPU it is far slower once lengths differ.
        """
        embedded = self.dropout(self.embedding(text))
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), enforce_sorted=False)
        _output, state = self.rnn_layer(packed)
        return self._classify(self._last_layer_finals(state))

    def _last_layer_finals(self, state: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
        """The last layer's final hidden state per direction, from the recurrent layer's state."""
        hidden = state[0] if self.is_lstm else state  # an LSTM's state is (hidden, cell)
        # hidden = [n layers * n directions, batch size, hid dim]; last layer's rows come last
        return [hidden[-2], hidden[-1]] if self.bidirectional else [hidden[-1]]

    def _classify(self, finals: list[torch.Tensor]) -> torch.Tensor:
        # finals = the last layer's final hidden state per direction, each [batch size, hid dim]
        hidden = torch.cat(finals, dim=1) if len(finals) > 1 else finals[0]
        # hidden = [batch size, hid dim * n directions]  (forward direction, then backward)
        hidden = self.dropout(hidden)
        logits = self.fc(hidden).squeeze(1)
        # logits = [batch size]  (log-odds of "positive")
        return logits

    def _final_hidden_padded(self, embedded: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """The final hidden states of a right-padded batch, each sequence read to its own length.

        Layer by layer and direction by direction, with the recurrent layer's own weights
        (fused single-layer kernels): the forward direction reads the padded batch as it is
        and its state at position ``length - 1`` is final; the reverse direction reads each
        sequence reversed within its length (padding stays at the end), so it never starts on
        padding. Outputs at padded positions are computed but never used.
        """
        rnn = self.rnn_layer
        steps, batch = embedded.shape[:2]
        lengths = lengths.to(embedded.device)
        position = torch.arange(steps, device=embedded.device)[:, None]
        # reverse[t, b]: where step t of sequence b's reversal reads from (padding: itself).
        reverse = torch.where(position < lengths[None, :], lengths[None, :] - 1 - position, position)
        last, members = lengths - 1, torch.arange(batch, device=embedded.device)
        inputs = embedded
        for layer in range(rnn.num_layers):
            outputs, finals = [], []
            for direction in range(2 if rnn.bidirectional else 1):
                cell = _single_layer(rnn, layer, direction, inputs.shape[2])
                flip = reverse[..., None].expand(steps, batch, inputs.shape[2])
                output, _ = cell(inputs if direction == 0 else inputs.gather(0, flip))
                finals.append(output[last, members])
                if direction == 1:
                    output = output.gather(0, reverse[..., None].expand_as(output))
                outputs.append(output)
            inputs = torch.cat(outputs, dim=2)
            if layer < rnn.num_layers - 1:
                inputs = nn.functional.dropout(inputs, rnn.dropout, self.training)
        # On a GPU each cell's first call packs the weights it shares into a cuDNN buffer of its
        # own, which leaves the full layer's weights scattered (every later call of it would copy
        # them: "not part of single contiguous chunk"). Pack them back; a no-op on the CPU.
        rnn.flatten_parameters()
        return finals


def _single_layer(rnn: nn.RNNBase, layer: int, direction: int, input_size: int) -> nn.RNNBase:
    """A one-layer, one-direction module of ``rnn``'s kind that uses (shares) the weights of
    ``layer`` and ``direction``; built on the meta device, so it draws nothing from the RNG."""
    kwargs = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
    cell = type(rnn)(input_size, rnn.hidden_size, num_layers=1, bias=rnn.bias, device="meta", **kwargs)
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    for name in cell._flat_weights_names:
        # RNNBase.__setattr__ keeps the flat weight list the kernel reads in step.
        setattr(cell, name, getattr(rnn, name.removesuffix("_l0") + suffix))
    return cell


def build_model(
    params: ModelParams, vocab_size: int, pad_idx: int = PAD_ID, embedding: torch.Tensor | np.ndarray | None = None
) -> RecurrentClassifier:
    """A :class:`RecurrentClassifier` whose class is named ``params.class_name`` (e.g. ``MyRNN``).

    The subclass exists only so that ``print(model)`` shows the report's class name; it adds
    no behaviour, so checkpoints hold plain ``state_dict`` tensors and load into any rebuild.
    """
    named = type(params.class_name, (RecurrentClassifier,), {"__module__": __name__, "__doc__": f"{params.title} (see RecurrentClassifier)."})
    return named(params, vocab_size, pad_idx=pad_idx, embedding=embedding)


def rnn_parameter_count(model: RecurrentClassifier) -> int:
    """Parameters of the recurrent layer(s) only: the figure in the report's Table 1."""
    return sum(p.numel() for p in model.rnn_layer.parameters())


def total_parameter_count(model: nn.Module) -> int:
    """Every parameter, the embedding's included (all are trainable here)."""
    return sum(p.numel() for p in model.parameters())


def load_checkpoint(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", arch: str | None = None
) -> tuple[RecurrentClassifier, dict[str, Any]]:
    """Rebuild the model a train-stage checkpoint describes and load its weights (eval mode).

    Returns the model and the checkpoint dict (``config``, ``vocab_fingerprint``, ``arch``,
    ``seed``, …). A file that is not such a checkpoint, whose weights do not fit the
    architecture in its own config, whose weights differ from the ``state_fingerprint``
    recorded beside them, or (given ``arch``) of another architecture, is a :class:`UserError`.
    """
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise UserError(f"missing checkpoint {path}; run the train stage first") from None
    except Exception as exc:  # torch.load raises many types on a damaged or foreign file
        raise UserError(f"{path} is not a readable checkpoint ({exc.__class__.__name__}); rerun the train stage") from None
    try:
        params = ModelParams.model_validate(checkpoint["config"]["model"])
        model = build_model(params, int(checkpoint["vocab_size"]))
        model.load_state_dict(checkpoint["state_dict"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise UserError(f"{path} is not a train-stage checkpoint (missing or bad {exc}); rerun the train stage") from None
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0] if first else "shape mismatch"
        raise UserError(f"{path}: its weights do not fit its architecture ({detail}); rerun the train stage") from None
    # A checkpoint copied over another architecture's loads as what it is, and would be reported as the other.
    if arch is not None and checkpoint.get("arch") != arch:
        raise UserError(
            f"{path} holds a checkpoint of {checkpoint.get('arch')!r} (seed {checkpoint.get('seed')}), not of {arch!r}; "
            f"delete it and rerun the train stage for {arch}"
        )
    # torch.load checks no checksum: a flipped bit in the weights loads silently. Checkpoints
    # that predate the recorded fingerprint are loaded as they are.
    recorded = checkpoint.get("state_fingerprint")
    if recorded is not None and state_fingerprint(checkpoint["state_dict"]) != recorded:
        raise UserError(
            f"{path}: damaged checkpoint (its weights do not match their recorded fingerprint); rerun its training, or `dvc checkout {path}`"
        )
    return model.to(device).eval(), checkpoint
