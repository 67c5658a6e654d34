"""Stage ``download``: fetch the IMDB archive and verify its sha256.

    python workflow/scripts/download.py --params params.yaml --out data/aclImdb_v1.tar.gz

``data.url`` may be the official URL, a ``file://`` URL or a local path (with its own
``data.sha256``): that is how tests and CI use the shared local copy. A relative path is
relative to the project folder, also when a queued experiment (``dvc queue start``) runs in
DVC's copy of it.
"""

from __future__ import annotations

import argparse

from imdb_rnn.config import load_params
from imdb_rnn.data.download import download
from imdb_rnn.errors import run_cli
from imdb_rnn.pipeline.workspace import project_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="the pipeline's params.yaml")
    parser.add_argument("--out", required=True, help="where the verified archive goes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    data = load_params(args.params).data
    # A relative local path is the project's, also in a queued DVC experiment's copy of it.
    path = download(project_path(data.url), data.sha256, args.out, progress=not args.no_progress)
    print(f"download: {path} (sha256 {data.sha256[:12]}… verified)")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
