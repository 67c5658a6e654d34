"""One fixed choice of numeric CPU kernels, set before numpy, scipy and torch load.

    # first lines of a stage program, before anything imports numpy or torch:
    from imdb_rnn.numerics import pin_from_argv
    pin_from_argv()        # reads numerics.cpu from the --params file (default params.yaml)

numpy/scipy (OpenBLAS, which gensim's word2vec calls) and torch (ATen's vectorised ops,
oneDNN's LSTM, MKL's matrix products) pick their kernels by the processor they find, and a
tanh RNN turns the last-bit differences between kernels into points of accuracy. Each
library reads its choice from the environment once, when it loads or first runs, so the
pin sets those variables in this process before any of them is imported.

``numerics.cpu`` in params.yaml chooses:

- ``avx2`` (default): the AVX2 kernels that every x86-64 CPU of the last decade runs, the
  same on every such machine. Measured on this project's machines
  (``benchmarks/numerics_knobs.py``): the tanh RNNs change only with
  ``MKL_CBWR``, the LSTM with ``ONEDNN_MAX_CPU_ISA`` and ``MKL_CBWR``, word2vec with
  ``OPENBLAS_CORETYPE``; ``ATEN_CPU_CAPABILITY`` is pinned as well because torch's
  vectorised element-wise ops depend on it.
- ``native``: whatever each library picks on this processor (faster for the bi-LSTM on
  AVX-512 machines; results then hold on this kind of CPU only).

A variable the environment already sets is never overridden, unset or weakened: some
machines set ``OPENBLAS_CORETYPE`` because older OpenBLAS builds misbehave on their
processors. Where such a value differs from the pin, the run goes on with the machine's
value, says so, and records it (see :func:`numeric_settings`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path

# numerics.cpu -> the environment it sets. Names and values as each library spells them.
PINS: dict[str, dict[str, str]] = {
    "avx2": {
        "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS's AVX2 kernels (numpy, scipy, gensim)
        "ATEN_CPU_CAPABILITY": "avx2",  # torch's vectorised CPU ops
        "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN, which runs nn.LSTM on the CPU
        "MKL_CBWR": "AVX2",  # MKL's conditional numerical reproducibility: AVX2 code paths
    },
    "native": {},
}
DEFAULT = "avx2"
# Every variable that can decide a result's bits, recorded with each run whether pinned or not.
KNOBS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS")
# Modules that read the variables when they load: the pin must come first.
_NUMERIC_MODULES = ("numpy", "scipy", "torch", "gensim")
# The CPU feature an avx2 pin needs (the names /proc/cpuinfo lists).
_REQUIRED_FLAGS = {"avx2": ("avx2", "fma")}


class PinError(RuntimeError):
    """The pin came too late: a numeric library was already loaded (a bug in the caller)."""


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo, or None where it cannot be read (not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return None


def pin(setting: str, environ: MutableMapping[str, str] | None = None, *, loaded: Sequence[str] | None = None) -> list[str]:
    """Set the environment of ``setting`` (a key of :data:`PINS`); return notes for the user.

    Idempotent: where every variable of the setting is already present (a parent process or
    an earlier call pinned it) nothing changes. Otherwise the variables must be set before
    numpy, scipy, torch or gensim load: :class:`PinError` if one of them is already imported
    (``loaded`` overrides what counts as imported, for tests). ``ValueError`` for an unknown
    setting.
    """
    if setting not in PINS:
        raise ValueError(f"numerics.cpu: unknown setting {setting!r}; choose one of {', '.join(PINS)}")
    environ = os.environ if environ is None else environ
    missing_vars = [name for name in PINS[setting] if name not in environ]
    already = list(loaded) if loaded is not None else [name for name in _NUMERIC_MODULES if name in sys.modules]
    if missing_vars and already:
        raise PinError(f"numeric kernels pinned after {', '.join(already)} loaded; call pin() first")
    notes = []
    flags = _cpu_flags()
    lacking = [flag for flag in _REQUIRED_FLAGS.get(setting, ()) if flags is not None and flag not in flags]
    if lacking:
        notes.append(
            f"note: this CPU lacks {', '.join(lacking)}, so numerics.cpu: {setting} cannot hold here; "
            "the libraries fall back to older kernels and results will differ from the published run"
        )
    for name, value in PINS[setting].items():
        current = environ.get(name)
        if current is None:
            environ[name] = value
        elif current.lower() != value.lower():
            notes.append(
                f"note: {name}={current} is set in the environment and kept (numerics.cpu: {setting} would set {value}); "
                "results may differ from runs made with the pin"
            )
    return notes


def read_setting(params_path: str | os.PathLike[str]) -> str:
    """``numerics.cpu`` from a params file, read without numpy (yaml only); the default if absent.

    A file that cannot be read or parsed yields the default: the stage then reports the
    problem itself when it validates the params, with its usual one-line message.
    """
    import yaml

    from imdb_rnn.config import load_yaml

    try:
        raw = load_yaml(Path(params_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return DEFAULT
    section = raw.get("numerics") if isinstance(raw, dict) else None
    value = section.get("cpu", DEFAULT) if isinstance(section, dict) else DEFAULT
    return value if value in PINS else DEFAULT


def pin_from_argv(argv: Sequence[str] | None = None, default_params: str = "params.yaml") -> str:
    """Pin the setting named by the ``--params`` file among ``argv`` (default: ``sys.argv``).

    Returns the setting. An unknown value falls back to the default here and is refused by the
    params validation that every stage runs next.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    path = default_params
    for index, arg in enumerate(args):
        if arg == "--params" and index + 1 < len(args):
            path = args[index + 1]
        elif arg.startswith("--params="):
            path = arg.partition("=")[2]
    setting = read_setting(path)
    for note in pin(setting):
        print(note, file=sys.stderr, flush=True)
    return setting


def numeric_settings(setting: str | None = None, environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """What decides this process's numbers: the setting, the variables, packages, CPU and kernels.

    Call it after torch and numpy have loaded (it imports them). Recorded in each run's
    metrics and printed by the report's provenance.
    """
    import platform

    environ = os.environ if environ is None else environ
    return {
        "setting": setting,
        "env": {name: environ.get(name) for name in KNOBS},
        "packages": package_versions(),
        "cpu": cpu_model(),
        "kernels": kernels_in_use(),
        "python": platform.python_version(),
    }


PACKAGES = ("torch", "numpy", "scipy", "gensim", "tokenizers")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages whose kernels compute the results."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def kernels_in_use() -> dict[str, object]:
    """The kernels the libraries actually chose: torch's CPU capability and each BLAS's core."""
    import torch

    kernels: dict[str, object] = {"torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}
    try:
        import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS, which gensim calls)
        from threadpoolctl import threadpool_info
    except ImportError:
        kernels["blas"] = None
        return kernels
    kernels["blas"] = sorted(
        (
            {
                "library": info.get("internal_api"),
                "core": info.get("architecture"),
                "version": info.get("version"),
                "module": Path(info.get("filepath", "")).name,
            }
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        ),
        key=lambda entry: entry["module"],
    )
    return kernels
