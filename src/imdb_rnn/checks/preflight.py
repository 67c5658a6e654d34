"""Stage ``preflight``: check what can be checked before any job that owns results starts.

    from imdb_rnn.checks.preflight import preflight
    preflight(load_params("params.yaml"))     # raises UserError naming the problem

Snakemake and DVC delete a job's previous outputs when it starts (DVC) or fails
(Snakemake), so a training run that cannot work must be refused before it starts: the
params file is validated (architecture ids are plain identifiers before any command line
holds one), a CUDA device is looked for when ``train.device: cuda`` asks for one, and a
GloVe file must exist.

- DVC runs these checks as the stage ``preflight``, whose output every train stage depends
  on, so DVC builds it first. The output's content does not depend on the params, so
  rerunning the stage never makes the trainings rerun.
- Snakemake runs them when it reads the workflow (``workflow/rules/common.smk``), before
  any job: a rule would not do there, because a rule whose output is declared ``ancient``
  hides the jobs after it from Snakemake's rerun checks, and without ``ancient`` every
  params edit would retrain every model.
"""

from __future__ import annotations

from pathlib import Path

from imdb_rnn.config import Params
from imdb_rnn.errors import UserError

# What the output says: the same text whenever the checks pass (see the module docstring).
CHECKS = ["params schema and architecture ids", "train.device", "embedding.glove_path"]


def preflight(params: Params, *, check_device: bool = True) -> dict[str, object]:
    """Check ``params`` against this machine; return the (constant) record of the checks.

    ``check_device=False`` skips the GPU check where the jobs run elsewhere (a cluster's
    login node has no GPU; its compute nodes do).
    """
    if check_device and params.train.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("train.device is cuda but no CUDA GPU is visible; set train.device: auto or cpu")
    if params.embedding.init == "glove":
        path = Path(params.embedding.glove_path or "")
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise UserError(f"embedding.glove_path: {path} {what}; point it at a GloVe text file (e.g. glove.6B.100d.txt)")
    return {"passed": CHECKS}
