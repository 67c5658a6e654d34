"""Does this machine reproduce the published run? One line per check; exit 0 only if all agree.

    make verify                     # downloads the archive if needed, then runs this
    python tools/verify.py --archive data/aclImdb_v1.tar.gz
    python tools/verify.py --rev 1a2b3c4          # the run published at another commit

The published run is dvc.lock and results/runs as committed at HEAD (or --rev), whatever the
workspace's copies say now: a `dvc exp run` rewrites dvc.lock and a local run rewrites
results/runs, and comparing with those would compare this machine with the user's own run.
A note says where the workspace has left the committed record. --lock FILE and --runs DIR
name a record kept elsewhere instead; a run record that is not the one the lock names is
reported, never compared with.

Compares this machine's packages and CPU kernels with those the published runs recorded,
recomputes the prepared data and the word vectors from the archive with the published
configuration and compares their md5s with the lock's, then trains the first batches of every
architecture (primary seed) from the published starting point and compares the weights'
fingerprint with the one the run recorded. A few minutes on two cores. See
imdb_rnn.checks.verify.

Exit status: 0 when every check is identical; 1 when something differs or could not be
checked (each line says what and the likely cause); 2 for bad input (no git checkout, no
committed dvc.lock, a missing lock file).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from imdb_rnn.checks.published import LOCK, committed, resolve
from imdb_rnn.checks.verify import published_setting
from imdb_rnn.errors import UserError
from imdb_rnn.numerics import pin


def _option(argv: list[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.partition("=")[2]
    return None


def _lock_text(argv: list[str]) -> bytes | None:
    """The lock the arguments name, read before numpy loads; None where it cannot be read
    (main then says why in one line)."""
    try:
        lock = _option(argv, "--lock")
        if lock is not None:
            return Path(lock).read_bytes()
        return committed(Path("."), resolve(Path("."), _option(argv, "--rev") or "HEAD"), LOCK)
    except (OSError, UserError):
        return None


# The kernels the published run was pinned to, before numpy and torch load.
SETTING = published_setting(_lock_text(sys.argv[1:]))
for _note in pin(SETTING):
    print(_note, file=sys.stderr)

from imdb_rnn.checks.published import published_record  # noqa: E402
from imdb_rnn.checks.verify import verify_published  # noqa: E402
from imdb_rnn.errors import run_cli  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="HEAD", help="the commit whose dvc.lock and results/runs are the published run (default: HEAD)")
    parser.add_argument("--lock", help="a dvc.lock file to compare with instead of the committed one")
    parser.add_argument("--runs", help="a folder laid out as results/runs to read the runs from instead of the commit")
    parser.add_argument("--archive", default="data/aclImdb_v1.tar.gz", help="the IMDB archive (default: the download stage's)")
    parser.add_argument("--archs", nargs="+", help="architectures to train (default: every published one)")
    parser.add_argument("--work", help="folder for the recomputed data (default: a temporary folder, removed afterwards)")
    args = parser.parse_args(argv)
    if args.work and Path(args.work).exists() and any(Path(args.work).iterdir()):
        raise UserError(f"--work {args.work}: not empty; verify writes prepared data there, so give it an empty or new folder")
    published = published_record(Path("."), args.rev, Path(args.lock) if args.lock else None, Path(args.runs) if args.runs else None)
    print(f"verify: the published run is {published.source}")
    with tempfile.TemporaryDirectory(prefix="imdb-verify-") as scratch:
        work = Path(args.work) if args.work else Path(scratch)
        checks = verify_published(published, Path(args.archive), work, setting=SETTING, archs=args.archs)
    failed = [check for check in checks if not check.ok]
    if failed:
        print(f"verify: {len(failed)} of {len(checks)} checks did not reproduce the published run (numerics.cpu: {SETTING})")
        raise SystemExit(1)
    print(f"verify: this machine reproduces the published run ({len(checks)} checks identical, numerics.cpu: {SETTING})")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
