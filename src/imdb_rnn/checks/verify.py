"""Does this machine reproduce the published run? Recompute its first steps and compare.

    from imdb_rnn.checks.published import published_record
    from imdb_rnn.checks.verify import verify_published
    checks = verify_published(published_record(Path(".")), Path("data/aclImdb_v1.tar.gz"), work)
    all(check.ok for check in checks)

The published run is what ``dvc.lock`` and ``results/runs/`` record as committed (HEAD by
default, :mod:`imdb_rnn.checks.published`), never the workspace's copies, which a
`dvc exp run` or a local run rewrites: its configuration (the whole params file, as the report
stage's lock entry holds it), the md5 of every data file and of every run's record, and, per
run, the fingerprints of the weights after the first batches and after each epoch with the
packages, kernels and CPU that computed them (``metrics.json``: ``fingerprints``,
``numerics``). In a few minutes on two cores this module

1. compares this machine's packages and kernels with the published run's;
2. hashes the archive, and recomputes the prepared splits and the word vectors from it with
   the published configuration, comparing each file's md5 with the lock;
3. trains the first batches of every architecture (the primary seed, the published thread
   count) from the published starting point and compares the weights' fingerprint.

Each check ends identical, differs (with the first thing that differs and its likely
cause), or cannot be made (saying what is missing, e.g. a run record that is not the one
the lock names). The numeric kernels must be pinned as the published run pinned them before
numpy and torch load: the CLI does it from the lock (:func:`published_setting`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imdb_rnn.checks.published import RUNS, Record, lock_outs, workspace_drift
from imdb_rnn.config import Params, parse_params
from imdb_rnn.errors import UserError
from imdb_rnn.numerics import DEFAULT, PINS

PREPARED_FILES = ("train.npz", "valid.npz", "test.npz", "tokenizer.json", "unsup.txt")


@dataclass(frozen=True)
class Check:
    """One comparison: ``ok`` True (identical), False (differs) or None (could not be made)."""

    name: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        verdict = {True: "identical", False: "DIFFERS", None: "NOT CHECKED"}[self.ok]
        return f"{self.name}: {verdict}" + (f" — {self.detail}" if self.detail else "")


def published_params(lock: dict[str, Any], source: str = "dvc.lock") -> Params:
    """The whole configuration of the published run (the report stage records every key)."""
    try:
        raw = lock["stages"]["report"]["params"]["params.yaml"]
    except (KeyError, TypeError):
        raise UserError(f"{source}: the report stage records no params; the lock is incomplete, restore it from git") from None
    return parse_params(raw, f"{source} (published params)")


def published_setting(lock_text: bytes | str | None) -> str:
    """``numerics.cpu`` of the published run, read from dvc.lock's text without numpy; runs from
    before the setting existed ran unpinned (``native``)."""
    try:
        raw = yaml.safe_load(lock_text or "")["stages"]["report"]["params"]["params.yaml"]
    except (yaml.YAMLError, UnicodeDecodeError, KeyError, TypeError):
        return DEFAULT
    numerics = raw.get("numerics") if isinstance(raw, dict) else None
    if not isinstance(numerics, dict):
        return "native"
    value = numerics.get("cpu", DEFAULT)
    return value if value in PINS else DEFAULT


def md5_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def environment_differences(published: dict[str, Any] | None, here: dict[str, Any]) -> list[str]:
    """What differs between the published run's recorded numerics and this machine's, in words."""
    if not published:
        return ["the published run recorded no packages or kernels (it predates that record)"]
    found = []
    for name, version in sorted(published.get("packages", {}).items()):
        if here["packages"].get(name) != version:
            found.append(f"package {name} {here['packages'].get(name)} here, {version} published")
    if published.get("setting") != here.get("setting"):
        found.append(f"numerics.cpu {here.get('setting')} here, {published.get('setting')} published")
    for name, value in sorted(published.get("env", {}).items()):
        # The libraries read these case-insensitively (MKL_CBWR=avx2 is AVX2).
        if str(here["env"].get(name)).lower() != str(value).lower():
            found.append(f"{name}={here['env'].get(name)} here, {value} published")
    kernels_then, kernels_now = published.get("kernels", {}), here["kernels"]
    if kernels_then.get("torch_cpu_capability") != kernels_now.get("torch_cpu_capability"):
        found.append(f"torch CPU kernels {kernels_now.get('torch_cpu_capability')} here, {kernels_then.get('torch_cpu_capability')} published")
    cores = lambda kernels: sorted({entry.get("core") for entry in kernels.get("blas") or []})  # noqa: E731
    if cores(kernels_then) != cores(kernels_now):
        found.append(f"BLAS core {','.join(map(str, cores(kernels_now)))} here, {','.join(map(str, cores(kernels_then)))} published")
    return found


def _likely_cause(differences: list[str], published: dict[str, Any] | None, here: dict[str, Any]) -> str:
    if differences:
        return "likely cause: " + "; ".join(differences)
    cpu_then = (published or {}).get("cpu")
    if cpu_then and cpu_then != here["cpu"]:
        return (
            f"same packages, setting and kernels, another processor ({here['cpu']} here, {cpu_then} published): "
            "the pinned kernels still round differently on these two CPUs"
        )
    return "same packages, kernels and processor model: unexpected; reinstall with `make install` and rerun"


def _compare_files(name: str, produced: dict[str, Path], expected: dict[str, str]) -> Check:
    """One check over several files: the first whose md5 differs, or identical."""
    for label, path in produced.items():
        want = expected.get(label)
        if want is None:
            return Check(name, None, f"dvc.lock records no md5 for {label}")
        got = md5_file(path)
        if got != want:
            return Check(name, False, f"{label}: md5 {got[:12]}… here, {want[:12]}… published")
    return Check(name, True, f"{len(produced)} file(s) as dvc.lock records")


def verify_published(
    published: Record,
    archive: Path,
    work: Path,
    *,
    setting: str | None = None,
    archs: list[str] | None = None,
    batches: int | None = None,
    workspace: Path = Path("."),
    report=print,
) -> list[Check]:
    """Run every check (see the module docstring) against the ``published`` record; ``report``
    gets a note where the workspace has left that record, then each check's line as it is decided."""
    # The modules the checks run, loaded first (numpy and torch with them): numeric_settings
    # reads the kernels of the libraries already loaded.
    from imdb_rnn import fileio, fingerprint, numerics  # noqa: F401
    from imdb_rnn.data import embeddings, prepare  # noqa: F401
    from imdb_rnn.train import files, threads, training  # noqa: F401

    lock = published.lock
    params = published_params(lock, published.lock_source)
    here = numerics.numeric_settings(setting)
    checks: list[Check] = []

    def record(check: Check) -> Check:
        checks.append(check)
        report(check.line())
        return check

    archs = archs or list(params.train.archs)
    seed = params.train.seed
    paths = {arch: f"{RUNS}/{arch}/seed{seed}/metrics.json" for arch in archs}
    for note in workspace_drift(published, workspace, list(paths.values())):
        report(f"note: {note}")
    runs = {arch: run_record(published, path) for arch, path in paths.items()}
    published_env = next((m.get("numerics") for m, _ in runs.values() if m and m.get("numerics")), None)
    differences = environment_differences(published_env, here)
    if published_env is None and all(problem for _, problem in runs.values()):
        differences = ["no run record of the published run to read them from (see the training lines)"]
    record(
        Check(
            "packages and kernels",
            not differences if published_env else None,
            "; ".join(differences) or f"{here['cpu']}, torch {here['packages']['torch']}",
        )
    )
    if not archive.exists():
        record(Check("archive", None, f"{archive} is missing; run the download stage (snakemake --cores 1 {archive})"))
        return checks
    record(_archive_check(lock, archive, params))
    start = _starting_point(lock, params, archive, work, workspace, record)
    cause = _likely_cause(differences, published_env, here)
    for arch in archs:
        record(_training_check(params, arch, runs[arch], start, batches, cause))
    return checks


def run_record(published: Record, path: str) -> tuple[dict[str, Any] | None, str]:
    """A run's ``metrics.json`` from the record, checked against the md5 dvc.lock gives it:
    (its content, "") or (None, why it cannot be compared with)."""
    raw = published.run(path)
    if raw is None:
        return None, f"no published run: {published.runs_source} holds no {path}"
    want = lock_outs(published.lock).get(path)
    got = hashlib.md5(raw).hexdigest()
    if want and got != want:
        fix = (
            "pass the published runs with --runs, or leave --runs out to read them as committed"
            if published.rev is None
            else "that commit mixes two runs: republish (README: Publishing a run)"
        )
        return None, f"{path} (read from {published.runs_source}) is not the run dvc.lock records (md5 {got[:12]}…, lock {want[:12]}…); {fix}"
    try:
        return json.loads(raw), ""
    except ValueError:
        return None, f"{path} (read from {published.runs_source}) is not JSON"


def _archive_check(lock: dict[str, Any], archive: Path, params: Params) -> Check:
    """The archive's md5 against the download stage's in the lock."""
    published_archive = next(iter(lock_outs(lock, "download").values()), None)
    got = md5_file(archive)
    return Check(
        "archive",
        got == published_archive,
        ""
        if got == published_archive
        else f"md5 {got[:12]}… here, {str(published_archive)[:12]}… published ({params.data.url}, sha256 {params.data.sha256[:12]}…)",
    )


def _starting_point(
    lock: dict[str, Any],
    params: Params,
    archive: Path,
    work: Path,
    workspace: Path,
    record: Callable[[Check], Check],
) -> tuple[Path | None, Path | None]:
    """Recompute the prepared data and the word vectors, recording a check of each, and return
    the published starting point of training: (prepared data folder, word vectors), the
    recomputed files where they matched, else the workspace's copies (e.g. from `dvc pull`)
    where those match the lock, else None."""
    from imdb_rnn.data.embeddings import embed
    from imdb_rnn.data.prepare import prepare

    prepared = work / "prepared"
    prepare(params.data, archive, prepared, work / "data-stats.json")
    expected_data = {Path(path).name: md5 for path, md5 in lock_outs(lock, "prepare").items() if Path(path).name in PREPARED_FILES}
    data_check = record(_compare_files("prepared data", {name: prepared / name for name in PREPARED_FILES}, expected_data))

    embedding_out = lock_outs(lock, "embed")
    embedding_path = work / "embedding.npy"
    embed(params.embedding, prepared, embedding_path, work / "embedding-stats.json")
    embedding_md5 = next((md5 for path, md5 in embedding_out.items() if path.endswith(".npy")), "")
    vectors_check = record(_compare_files("word vectors", {"embedding.npy": embedding_path}, {"embedding.npy": embedding_md5}))

    data_dir: Path | None = prepared
    vectors: Path | None = embedding_path
    if not data_check.ok:
        local = workspace / "data" / "prepared"
        data_dir = local if all((local / n).exists() and md5_file(local / n) == expected_data.get(n) for n in PREPARED_FILES) else None
    if not vectors_check.ok:
        local_vectors = workspace / next((p for p in embedding_out if p.endswith(".npy")), "data/embeddings/embedding.npy")
        vectors = local_vectors if local_vectors.exists() and md5_file(local_vectors) == embedding_md5 else None
    return data_dir, vectors


def _training_check(
    params: Params,
    arch: str,
    run: tuple[dict[str, Any] | None, str],
    start: tuple[Path | None, Path | None],
    batches: int | None,
    cause: str,
) -> Check:
    """Train the first batches of ``arch`` from the published starting point ``start`` and
    compare the weights' fingerprint with the published run's (``run``: its metrics, or why there are none)."""
    from imdb_rnn.fingerprint import EARLY_BATCHES
    from imdb_rnn.train.files import TrainData, load_embedding
    from imdb_rnn.train.threads import configure_cpu
    from imdb_rnn.train.training import early_fingerprint

    seed = params.train.seed
    name = f"training {arch} (seed {seed})"
    metrics, problem = run
    if metrics is None:
        return Check(name, None, problem)
    early = metrics.get("fingerprints", {}).get("early")
    if not early:
        return Check(
            name,
            None,
            f"the published run records no fingerprints (trained at {str(metrics.get('code_version'))[:12]}, before they existed); republish it",
        )
    data_dir, vectors = start
    if data_dir is None or vectors is None:
        return Check(
            name, None, "no copy of the published starting point (prepared data and word vectors differ, see above; `dvc pull` fetches them)"
        )
    data = TrainData.load(data_dir)
    # The pipeline always starts training from the embed stage's matrix (N(0, 1) rows for
    # embedding.init: random), so verify does too.
    embedding = load_embedding(vectors)
    threads = int(metrics.get("threads", 1))
    configure_cpu(threads)
    count = int(early["batches"]) if batches is None else min(batches, int(early["batches"]))
    if count != int(early["batches"]):
        return Check(name, None, f"--batches {batches} is below the published {early['batches']}; nothing to compare")
    _, fingerprint = early_fingerprint(
        params.models[arch], params.train, data, seed=seed, embedding=embedding, batches=count or EARLY_BATCHES, desc=f"verify {arch}"
    )
    same = fingerprint == early["state"]
    detail = f"weights after {count} batches on {threads} thread(s)"
    if not same:
        detail += f": {fingerprint[:12]}… here, {early['state'][:12]}… published; {cause}"
    return Check(name, same, detail)
