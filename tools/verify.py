"""Does this machine reproduce the published run? One line per check; exit 0 only if all agree.

    make verify                     # downloads the archive if needed, then runs this
    python tools/verify.py --lock dvc.lock --archive data/aclImdb_v1.tar.gz --runs results/runs

Compares this machine's packages and CPU kernels with those the published runs recorded,
recomputes the prepared data and the word vectors from the archive with the published
configuration (``dvc.lock``) and compares their md5s, then trains the first batches of
every architecture (primary seed) from the published starting point and compares the
weights' fingerprint with the one the run recorded (``results/runs/<arch>/seed<k>/metrics.json``).
A few minutes on two cores. See imdb_rnn.checks.verify.

Exit status: 0 when every check is identical; 1 when something differs or could not be
checked (each line says what and the likely cause); 2 for bad input (a missing lock).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from imdb_rnn.checks.verify import published_setting
from imdb_rnn.numerics import pin


def _lock_path(argv: list[str]) -> Path:
    for index, arg in enumerate(argv):
        if arg == "--lock" and index + 1 < len(argv):
            return Path(argv[index + 1])
        if arg.startswith("--lock="):
            return Path(arg.partition("=")[2])
    return Path("dvc.lock")


# The kernels the published run was pinned to, before numpy and torch load.
SETTING = published_setting(_lock_path(sys.argv[1:]))
for _note in pin(SETTING):
    print(_note, file=sys.stderr)

from imdb_rnn.checks.verify import verify_published  # noqa: E402
from imdb_rnn.errors import UserError, run_cli  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lock", default="dvc.lock", help="the published run's lock file (default: dvc.lock)")
    parser.add_argument("--archive", default="data/aclImdb_v1.tar.gz", help="the IMDB archive (default: the download stage's)")
    parser.add_argument("--runs", default="results/runs", help="the published runs (default: results/runs)")
    parser.add_argument("--archs", nargs="+", help="architectures to train (default: every published one)")
    parser.add_argument("--work", help="folder for the recomputed data (default: a temporary folder, removed afterwards)")
    args = parser.parse_args(argv)
    if args.work and Path(args.work).exists() and any(Path(args.work).iterdir()):
        raise UserError(f"--work {args.work}: not empty; verify writes prepared data there, so give it an empty or new folder")
    with tempfile.TemporaryDirectory(prefix="imdb-verify-") as scratch:
        work = Path(args.work) if args.work else Path(scratch)
        checks = verify_published(Path(args.lock), Path(args.archive), Path(args.runs), work, setting=SETTING, archs=args.archs)
    failed = [check for check in checks if not check.ok]
    if failed:
        print(f"verify: {len(failed)} of {len(checks)} checks did not reproduce the published run (numerics.cpu: {SETTING})")
        raise SystemExit(1)
    print(f"verify: this machine reproduces the published run ({len(checks)} checks identical, numerics.cpu: {SETTING})")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
