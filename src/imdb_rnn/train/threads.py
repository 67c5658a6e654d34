"""Elastic CPU threads: a training job takes a core that sits idle and gives it back when asked.

    governor = ThreadGovernor(base=1, limit=2)
    for batch in governor.watch(loader):   # polls between batches
        ...

Why: with ``snakemake --cores 2`` the bi-LSTM is declared one thread so that it starts beside
the RNN jobs instead of after them, and it grows to two threads once they are done, so no core
idles while work is left (docs/pipeline.md; docs/benchmarks.md has the effect on wall time).

Only a model whose results do not depend on the thread count may grow: otherwise the metrics
of a seed would depend on what else ran beside it. ``THREAD_INVARIANT_CELLS`` lists the cells
checked here: the bi-LSTM's training (forward, backward, Adam, dropout) and evaluation came out
bitwise identical at 1 and 2 threads and when switched mid-run, over 60 real IMDB batches and
over whole 5-epoch runs. The tanh RNN's do not (its weights differ after 3 steps), so RNN jobs
keep the thread count they were given. ``tests/test_threads.py`` rechecks the LSTM's
invariance on the machine that runs the tests.

The governor reads the machine's CPU time (``/proc/stat``) and its own process's, and every
``interval`` seconds compares them over the last window:

- grow by one thread when the other processes leave at least ``grow_idle`` of a core idle;
- shrink back to ``base`` when the other processes get more CPU than the cores this job leaves
  them (someone else was scheduled on "our" core: Snakemake does not know we grew).

Where ``/proc/stat`` is missing (not Linux) the governor never grows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

import torch

from imdb_rnn.errors import UserError

if TYPE_CHECKING:
    from imdb_rnn.config import ModelParams

# Cells whose training and evaluation are bitwise the same at any thread count (see above).
THREAD_INVARIANT_CELLS = frozenset({"lstm"})
# How often the governor looks at the machine (seconds), and how much of a core must have sat
# idle over that window before it takes one more thread.
POLL_SECONDS = 10.0
GROW_IDLE = 0.75
# It gives its extra threads back when the other processes got this much more CPU than the
# cores it left them: they were waiting for a core.
SHRINK_OVERLOAD = 0.3

T = TypeVar("T")


@dataclass(frozen=True)
class CpuSample:
    """Cumulative seconds at one moment: wall clock, busy CPU time of the machine, of this process."""

    wall: float
    machine_busy: float
    own: float


def read_cpu_sample() -> CpuSample | None:
    """The machine's busy CPU seconds (all cores) and this process's, or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    ticks = [int(value) for value in fields[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return CpuSample(time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), time.process_time())


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class ThreadGovernor:
    """Keeps ``torch.get_num_threads()`` between ``base`` and ``limit`` as the machine frees up.

    ``timeline`` records each change as (seconds since start, threads), starting with base.
    With ``limit == base`` it only sets ``base`` threads and never looks at the machine.
    Left out, ``interval``, ``cores`` and ``sample`` come from this module (``POLL_SECONDS``,
    :func:`available_cores`, :func:`read_cpu_sample`) when the governor is made.
    """

    base: int
    limit: int
    interval: float | None = None
    cores: int | None = None
    sample: Callable[[], CpuSample | None] | None = None
    set_threads: Callable[[int], None] = torch.set_num_threads
    log: Callable[[str], None] = lambda message: None
    timeline: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 1 <= self.base <= self.limit:
            raise ValueError(f"threads must satisfy 1 <= base ({self.base}) <= limit ({self.limit})")
        self.interval = POLL_SECONDS if self.interval is None else self.interval
        self.cores = available_cores() if self.cores is None else self.cores
        self.sample = self.sample or read_cpu_sample
        self.threads = self.base
        self.set_threads(self.base)
        self._start = self.sample() if self.elastic else None
        self._last = self._start
        self._clock = time.monotonic() if self._start is None else self._start.wall
        self.timeline.append((0.0, self.base))

    @property
    def elastic(self) -> bool:
        return self.limit > self.base

    def poll(self) -> None:
        """Cheap between batches: looks at the machine at most once per ``interval``."""
        if self._last is None or time.monotonic() - self._last.wall < self.interval:
            return
        now = self.sample()
        if now is None:
            return
        wall = now.wall - self._last.wall
        others = max(0.0, (now.machine_busy - self._last.machine_busy) - (now.own - self._last.own)) / wall
        self._last = now
        free = self.cores - self.threads - others
        if self.threads < self.limit and free >= GROW_IDLE:
            self._change(self.threads + 1, now, f"{free:.2f} core(s) idle")
        elif self.threads > self.base and free < -SHRINK_OVERLOAD:
            self._change(self.base, now, f"other processes want {others:.2f} core(s)")

    def _change(self, threads: int, now: CpuSample, why: str) -> None:
        self.set_threads(threads)
        seconds = now.wall - self._clock
        self.log(f"threads {self.threads} -> {threads} at {seconds:,.0f} s ({why})")
        self.threads = threads
        self.timeline.append((round(seconds, 1), threads))

    def watch(self, batches: Iterable[T]) -> Watched[T]:
        """``batches`` as they are, polling before each one (keeps ``len``: see :class:`Watched`)."""
        return Watched(batches, self)

    def thread_seconds(self, until: float | None = None) -> dict[int, float]:
        """Seconds spent at each thread count so far (or until ``until`` seconds after start)."""
        end = (time.monotonic() - self._clock) if until is None else until
        spans: dict[int, float] = {}
        marks = self.timeline + [(end, self.threads)]
        for (start, threads), (stop, _) in zip(marks, marks[1:], strict=False):
            spans[threads] = round(spans.get(threads, 0.0) + max(0.0, stop - start), 1)
        return spans


class Watched(Generic[T]):
    """An iterable of batches that lets its governor poll before each batch; has ``len``."""

    def __init__(self, batches: Iterable[T], governor: ThreadGovernor) -> None:
        self.batches = batches
        self.governor = governor

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[T]:
        for batch in self.batches:
            self.governor.poll()
            yield batch


def configure_cpu(threads: int) -> None:
    """Use ``threads`` CPU threads, and flush denormal floats to zero on all of them.

    Gradients that fade while flowing back through hundreds of time steps become denormal
    (below ~1e-38), and x86 arithmetic on denormals is up to ~100× slower: measured here, a
    2-layer bi-LSTM step on a 64 × 256 batch took ~10 s with them and ~1 s without. Values
    that small change no result. The flag is per thread and a new thread inherits it, so it
    is set before ``set_num_threads``, ahead of the first parallel operation that starts
    torch's worker threads (a process that already ran one keeps those workers as they are).
    """
    torch.set_flush_denormal(True)
    torch.set_num_threads(threads)


def run_governor(model_params: ModelParams, device: torch.device, threads: int, max_threads: int) -> ThreadGovernor:
    """Elastic threads for a thread-invariant cell on the CPU; fixed ones for everything else.

    ``max_threads`` is used as given: the command line resolved it (train.py --max-threads).
    """
    if max_threads < threads:
        raise UserError(f"max_threads ({max_threads}) is below threads ({threads}); raise it or leave it out")
    elastic = device.type == "cpu" and model_params.cell in THREAD_INVARIANT_CELLS
    if max_threads > threads and not elastic:
        print(f"note: {model_params.cell} cells keep {threads} thread(s): their results depend on the thread count", flush=True)
    return ThreadGovernor(
        base=threads,
        limit=max_threads if elastic else threads,
        set_threads=torch.set_num_threads,
        log=lambda message: print(message, flush=True),
    )


def describe_threads(governor: ThreadGovernor) -> str:
    if governor.elastic:
        return f"{governor.base} thread(s), up to {governor.limit} when cores are idle"
    return f"{governor.base} thread(s)"
