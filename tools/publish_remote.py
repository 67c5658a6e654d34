"""Write the DVC outputs of the committed run as a static DVC remote that any web server can serve.

    make publish-remote DEST=/var/www/imdb-rnn-dvc
    python tools/publish_remote.py --dest /var/www/imdb-rnn-dvc [--rev HEAD] [--allow-missing]

Takes every output that dvc.lock (and any .dvc file) at HEAD, or --rev, records and that DVC
caches (dvc.yaml decides: the archive, the prepared data, the word vectors, the checkpoints),
from this project's DVC cache, checks each file against the md5 the lock records, and writes
them in a DVC 3 remote's layout: DEST/files/md5/<2 hex digits>/<30 hex digits> (a folder output
as its .dir listing and its files). DVC's HTTP remote reads the same layout as a local one, so
a web server that serves DEST's contents at some URL is a remote users can pull from:

    dvc remote add --local -d published https://example.org/imdb-rnn-dvc && make pull

DEST/published.json names the commit and lists each output with its md5, and the outputs it
lacks. Nothing is written unless every output is in the cache: the missing ones are listed,
one a line, and the exit status is 2; --allow-missing publishes the rest and lists the missing
ones there and on the console. DEST is built beside itself and renamed into place at the end,
so an interrupted run leaves the previous publication (or nothing); a DEST this program did not
write is never replaced.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from imdb_rnn.checks.published import resolve
from imdb_rnn.errors import UserError, run_cli

MANIFEST = "published.json"
FORMAT = "imdb-rnn DVC remote 1"


@dataclass
class Output:
    """One output the lock records: its path, its md5, and the objects of the remote it needs."""

    path: str
    md5: str
    objects: set[str] = field(default_factory=set)  # the DVC objects it needs: md5s, a folder's listing ending in .dir
    missing: str = ""  # why it cannot be published; empty when it can


def object_path(oid: str) -> str:
    """Where DVC 3 keeps an object, relative to a cache's or a remote's root."""
    return f"files/md5/{oid[:2]}/{oid[2:]}"


def recorded_outputs(root: Path, commit: str) -> tuple[list[Output], Path]:
    """Every cached output that ``commit`` records, and this project's DVC cache folder."""
    from dvc.repo import Repo

    outputs: dict[str, Output] = {}
    with Repo(str(root)) as repo:
        cache = Path(repo.cache.legacy.path)
        for _ in repo.brancher(revs=[commit], workspace=False):
            for stage in repo.index.stages:
                for out in stage.outs:
                    if not out.use_cache:
                        continue
                    md5 = out.hash_info.value if out.hash_info else None
                    output = Output(str(out), str(md5 or ""))  # the path from the project's root
                    if not md5:
                        output.missing = "the lock records no hash for it"
                    elif out.hash_info.name != "md5":
                        output.missing = f"hashed as {out.hash_info.name} (DVC 2); `dvc commit` it with DVC 3 first"
                    outputs[output.path] = output
    return sorted(outputs.values(), key=lambda o: o.path), cache


def find_objects(output: Output, cache: Path) -> None:
    """Fill ``output.objects`` from the cache, or say in ``output.missing`` what the cache lacks."""
    if output.missing:
        return
    output.objects = {output.md5}
    if not output.md5.endswith(".dir"):
        if not (cache / object_path(output.md5)).is_file():
            output.missing = "not in the DVC cache"
        return
    try:
        entries = json.loads((cache / object_path(output.md5)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        output.missing = "its folder listing is not in the DVC cache"
        return
    output.objects |= {entry["md5"] for entry in entries}
    absent = sum(not (cache / object_path(oid)).is_file() for oid in output.objects)
    if absent:
        output.missing = f"{absent} of its {len(entries)} files are not in the DVC cache"


def copy_checked(source: Path, target: Path, md5: str) -> int:
    """Copy ``source`` to ``target`` and return its size; raise when its md5 is not ``md5``
    (a folder's .dir listing too: DVC names it by the md5 of its bytes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.md5(), 0
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while block := reader.read(1 << 20):
            digest.update(block)
            writer.write(block)
            size += len(block)
    if digest.hexdigest() != md5:
        raise UserError(f"{source}: this DVC cache's copy is damaged (md5 {digest.hexdigest()}, not {md5}); delete it, then pull or rerun its stage")
    return size


def _check_dest(dest: Path) -> None:
    if not dest.exists():
        return
    if not dest.is_dir():
        raise UserError(f"--dest {dest}: is a file; name a folder (new, empty, or published by this program)")
    manifest = dest / MANIFEST
    try:
        ours = json.loads(manifest.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        ours = False
    if any(dest.iterdir()) and not ours:
        raise UserError(f"--dest {dest}: holds files this program did not write; name a new or empty folder")


def publish(outputs: list[Output], cache: Path, dest: Path, commit: str) -> tuple[int, int]:
    """Write the publishable outputs to ``dest`` (atomically, see the module docstring); (files, bytes)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    files = size = 0
    try:
        written: set[str] = set()
        for output in outputs:
            if output.missing:
                continue
            for oid in sorted(output.objects - written):
                size += copy_checked(cache / object_path(oid), partial / object_path(oid), oid.removesuffix(".dir"))
                written.add(oid)
        files = len(written)
        manifest = {
            "format": FORMAT,
            "commit": commit,
            "outputs": {o.path: o.md5 for o in outputs if not o.missing},
            "missing": {o.path: o.missing for o in outputs if o.missing},
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        partial.chmod(0o777 & ~umask)  # mkdtemp makes it private; a web server must read it
        if dest.exists() and any(dest.iterdir()):
            previous = dest.with_name(f".{dest.name}.previous-{os.getpid()}")
            dest.rename(previous)
            partial.rename(dest)
            shutil.rmtree(previous)
        else:
            partial.rename(dest)  # replaces an empty folder too
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return files, size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", required=True, help="the folder to write the remote to (new, empty, or an earlier publication)")
    parser.add_argument("--rev", default="HEAD", help="the commit whose dvc.lock to publish (default: HEAD)")
    parser.add_argument("--allow-missing", action="store_true", help="publish what the cache holds when some outputs are missing (listed)")
    args = parser.parse_args(argv)
    if not args.dest:
        raise UserError("--dest is empty; name the folder to write the remote to")
    dest = Path(args.dest).absolute()
    _check_dest(dest)
    root = Path(".")
    commit = resolve(root, args.rev)
    outputs, cache = recorded_outputs(root, commit)
    if not outputs:
        raise UserError(f"{args.rev} ({commit[:10]}) records no output that DVC caches: nothing to publish")
    for output in outputs:
        find_objects(output, cache)
    missing = [o for o in outputs if o.missing]
    for output in missing:
        print(f"{'not published' if args.allow_missing else 'missing'}: {output.path} ({output.missing})", file=sys.stderr)
    if missing and not args.allow_missing:
        raise UserError(
            f"{len(missing)} of the {len(outputs)} outputs that {args.rev} ({commit[:10]}) records are not in this DVC cache "
            f"({cache}; listed above), so nothing was written; `dvc pull` or rerun their stages, "
            "or publish the rest with --allow-missing"
        )
    files, size = publish(outputs, cache, dest, commit)
    complete = "all" if not missing else f"{len(outputs) - len(missing)} of the"
    print(f"publish_remote: {complete} {len(outputs)} outputs of {commit[:10]} ({files} files, {size / 1e6:.1f} MB) in {dest}")
    if missing:
        print(f"publish_remote: INCOMPLETE: {len(missing)} outputs are not in it (listed above and in {MANIFEST}); pulling them from it fails")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
