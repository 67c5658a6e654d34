"""Stage ``preflight``: check what can be checked before any job that owns results starts.

    from imdb_rnn.preflight import preflight
    preflight(load_params("params.yaml"))     # raises UserError naming the problem

Snakemake and DVC delete a job's previous outputs when it starts (DVC) or fails
(Snakemake), so a training run that cannot work must be refused before it starts. Every
train job depends on this stage's output, which both tools build first: the params file
is validated here (architecture ids are plain identifiers before any command line holds
one), a CUDA device is looked for when ``train.device: cuda`` asks for one, and a GloVe
file must exist. The output's content does not depend on the params, so rerunning this
stage never makes the trainings rerun.
"""

from __future__ import annotations

from pathlib import Path

from .config import Params
from .errors import UserError

# What the output says: the same text whenever the checks pass (see the module docstring).
CHECKS = ["params schema and architecture ids", "train.device", "embedding.glove_path"]


def preflight(params: Params) -> dict[str, object]:
    """Check ``params`` against this machine; return the (constant) record of the checks."""
    if params.train.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("train.device is cuda but no CUDA GPU is visible; set train.device: auto or cpu")
    if params.embedding.init == "glove":
        path = Path(params.embedding.glove_path or "")
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise UserError(f"embedding.glove_path: {path} {what}; point it at a GloVe text file (e.g. glove.6B.100d.txt)")
    return {"passed": CHECKS}
