"""What the Snakemake rules read from the stage table: each stage's input files, outputs and
shell command for the architectures and seeds in params.yaml (workflow/rules/common.smk).

    from imdb_rnn.pipeline.rules import Jobs
    jobs = Jobs(archs=["rnn1"], seeds=[1234], primary_seed=1234)
    jobs.inputs("diagnose")   # ["models/{arch}/seed1234.pt", "data/prepared/valid.npz", "workflow/scripts/diagnose.py", ...]

Nothing here imports Snakemake: common.smk wraps the outputs in ``update()`` and ``report()``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from imdb_rnn.errors import EXIT_USER_ERROR
from imdb_rnn.pipeline.codedeps import code_deps
from imdb_rnn.pipeline.stages import REPORT, Many, Out, expand_template, stage
from imdb_rnn.report import registry


def refuse(message: object) -> NoReturn:
    """End Snakemake with the stage programs' one line and exit status for a user's error."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USER_ERROR)


@dataclass(frozen=True)
class Jobs:
    """The stages' files for one set of params: ``archs``, ``seeds`` and the primary seed."""

    archs: list[str]
    seeds: list[int]
    primary_seed: int
    root: Path = Path(".")

    def _files(self, value: str | Many) -> list[str]:
        """A dep or out as Snakemake patterns: a :class:`Many` as every file it stands for,
        a path with ``{arch}``/``{seed}`` left as wildcards."""
        if isinstance(value, Many):
            return [path for template in value.each for path in expand_template(template, self.archs, self.seeds, self.root)]
        return [value.replace("{primary_seed}", str(self.primary_seed))]

    def inputs(self, name: str) -> list[str]:
        """Every file the stage reads: its data inputs, then its program and the modules it imports."""
        found = stage(name)
        return [path for dep in found.deps for path in self._files(dep)] + code_deps(found.program, self.root)

    def outputs(self, name: str) -> list[tuple[str, Out]]:
        """Each output file with the :class:`Out` that declares it (its flags)."""
        found = stage(name)
        return [(path, out) for out in found.outs for path in self._files(out.path)]

    def shell(self, name: str, log: str) -> str:
        """The stage's command as Snakemake runs it, its output going where ``log`` says."""
        return f"{stage(name).command('snakemake', self.primary_seed)} {log}"


def shown(path: str) -> registry.Artifact | None:
    """The figure or table ``snakemake --report`` shows for output ``path``, if any."""
    return next((item for item in registry.shown() if f"{REPORT}/{item.path}" == path), None)


def caption_file(item: registry.Artifact) -> str:
    """Where the caption of ``item`` is written (workflow/report/<name>.rst; tools/generate.py)."""
    return f"workflow/report/{Path(item.path).stem}.rst"
