"""What every figure of the report shares: its size and text, its colours, how it is written.

    from imdb_rnn.report.figures import FIGURE_RC, colour, save_figure
    with matplotlib.rc_context(FIGURE_RC):
        fig = Figure(figsize=(6.3, 3.0), layout="constrained")
        ...
        save_figure(fig, [out / "figures" / "<name>.png", out / "figures" / "<name>.pdf"])

Each section draws its own figures (``draw`` in :mod:`imdb_rnn.report.sections`). Bare
matplotlib Figures, no pyplot: no GUI backend, no global state in a headless stage. 6.3 in
wide = the LaTeX text width, so the text shows at about the body's size. Each figure is
written to every target, the format from its suffix, without timestamps and with TrueType
(not Type 3) fonts; one architecture keeps its colour in every figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from imdb_rnn.fileio import atomic_path

# Text in the figures at about the body's size once LaTeX scales them to the text width.
FIGURE_RC = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8, "pdf.fonttype": 42, "ps.fonttype": 42}


def colour(index: int) -> str:
    """The colour of the ``index``-th architecture of params (the same in every figure)."""
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    return cycle[index % len(cycle)]


def save_figure(fig: Figure, targets: Iterable[Path]) -> None:
    """Write ``fig`` to each target (format from the suffix), without timestamps, fonts embedded as TrueType."""
    for target in targets:
        with atomic_path(target, suffix=target.suffix) as tmp, matplotlib.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42}):
            # No timestamps, so a rerun on the same results is byte-identical; TrueType (42), not Type 3, fonts.
            metadata = {"CreationDate": None} if target.suffix == ".pdf" else {"Software": None}
            fig.savefig(tmp, dpi=150, metadata=metadata)
