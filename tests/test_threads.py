"""Elastic threads: when the governor grows and shrinks, and that an LSTM does not notice."""

from __future__ import annotations

import hashlib
import importlib.util
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from imdb_rnn.config import ModelParams
from imdb_rnn.train import threads as threads_module
from imdb_rnn.train.models import build_model
from imdb_rnn.train.threads import CpuSample, ThreadGovernor, available_cores, read_cpu_sample

ROOT = Path(__file__).resolve().parents[1]
TWO_CORES = pytest.mark.skipif(available_cores() < 2, reason="needs two cores")


@pytest.fixture(autouse=True)
def keep_thread_count():
    """Tests here change torch's process-wide thread count; later tests expect it back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


class FakeMachine:
    """CPU samples 10 s apart in which the other processes keep ``others`` cores busy.

    ``governor`` (set after construction) tells how many cores this process used: its threads.
    """

    def __init__(self, others: list[float]):
        self.others = list(others)
        self.wall = self.busy = self.own = 0.0
        self.governor: ThreadGovernor | None = None

    def __call__(self) -> CpuSample:
        if self.governor is not None:  # the first call comes from the governor's constructor
            mine = self.governor.threads
            other = self.others.pop(0)
            self.wall += 10
            self.own += 10 * mine
            self.busy += 10 * (mine + other)
        return CpuSample(self.wall, self.busy, self.own)


def governed(others: list[float], *, base: int = 1, limit: int = 2, cores: int = 2) -> tuple[ThreadGovernor, list[int]]:
    machine, calls = FakeMachine(others), []
    governor = ThreadGovernor(base=base, limit=limit, interval=0.0, cores=cores, sample=machine, set_threads=calls.append)
    machine.governor = governor
    return governor, calls


def test_grows_onto_an_idle_core_and_gives_it_back_when_another_job_arrives():
    # windows: other job busy; other job done (idle core); alone; a new job on "our" core; it keeps going
    governor, calls = governed([1.0, 0.05, 0.05, 0.67, 0.9])
    expected = [1, 1, 2, 2, 1, 1]
    seen = [governor.threads]
    for _ in range(5):
        governor.poll()
        seen.append(governor.threads)
    assert seen == expected
    assert calls == [1, 2, 1]  # set at start, grown, shrunk: nothing else
    assert [threads for _, threads in governor.timeline] == [1, 2, 1]


def test_never_above_the_limit_nor_below_the_base():
    governor, calls = governed([0.0] * 6, base=2, limit=3, cores=8)
    for _ in range(6):
        governor.poll()
    assert governor.threads == 3 and calls == [2, 3]
    governor, calls = governed([8.0] * 3, base=2, limit=3, cores=8)
    for _ in range(3):
        governor.poll()
    assert governor.threads == 2 and calls == [2]


def test_a_fixed_governor_never_reads_the_machine():
    def no_sampling():
        raise AssertionError("a fixed governor must not sample")

    calls: list[int] = []
    governor = ThreadGovernor(base=2, limit=2, interval=0.0, sample=no_sampling, set_threads=calls.append)
    governor.poll()
    assert not governor.elastic and governor.threads == 2 and calls == [2]


def test_waits_an_interval_between_looks():
    samples = []

    def sample():
        samples.append(time.monotonic())
        return CpuSample(time.monotonic(), 0.0, 0.0)

    governor = ThreadGovernor(base=1, limit=2, interval=3600.0, cores=2, sample=sample, set_threads=lambda n: None)
    for _ in range(100):
        governor.poll()
    assert len(samples) == 1 and governor.threads == 1  # only the constructor's


def test_without_proc_stat_it_stays_put():
    governor = ThreadGovernor(base=1, limit=2, interval=0.0, cores=2, sample=lambda: None, set_threads=lambda n: None)
    governor.poll()
    assert governor.threads == 1


def test_thread_seconds_add_up_the_timeline():
    governor, _ = governed([0.0, 1.5])
    governor.poll()  # grows at 10 s
    governor.poll()  # shrinks at 20 s
    assert governor.timeline == [(0.0, 1), (10.0, 2), (20.0, 1)]
    assert governor.thread_seconds(until=25.0) == {1: 15.0, 2: 10.0}


def test_watch_keeps_the_batches_and_their_length_and_polls_before_each():
    polls: list[int] = []
    governor = ThreadGovernor(base=1, limit=1, set_threads=lambda n: None)
    governor.poll = lambda: polls.append(len(polls))  # type: ignore[method-assign]
    watched = governor.watch([10, 20, 30])
    assert len(watched) == 3
    assert list(watched) == [10, 20, 30] and polls == [0, 1, 2]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux's /proc/stat; elsewhere the governor never grows (tested above)")
def test_reads_this_machines_cpu_time():
    first = read_cpu_sample()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    second = read_cpu_sample()
    assert second.wall > first.wall
    assert second.own - first.own >= 0.3
    # the machine's busy time includes this process's (ticks are 10 ms)
    assert second.machine_busy - first.machine_busy >= 0.3 - 0.05


def test_rejects_a_limit_below_the_base():
    with pytest.raises(ValueError, match="base"):
        ThreadGovernor(base=2, limit=1, set_threads=lambda n: None)


def _train_digest(model_params: ModelParams, schedule: list[int], steps: int = 4) -> str:
    """The weights and Adam moments after ``steps`` steps, with the thread count switched per step."""
    torch.manual_seed(0)
    model = build_model(model_params, vocab_size=500)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(1)
    model.train()
    for step in range(steps):
        torch.set_num_threads(schedule[step % len(schedule)])
        text = torch.randint(2, 500, (60 + 10 * step, 64), generator=generator)
        labels = torch.randint(0, 2, (64,), generator=generator).float()
        optimizer.zero_grad()
        criterion(model(text), labels).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        text = torch.randint(2, 500, (80, 64), generator=generator)
        lengths = torch.randint(1, 81, (64,), generator=generator)
        logits = model(text, lengths)
    digest = hashlib.sha256(logits.numpy().tobytes())
    for value in model.state_dict().values():
        digest.update(value.numpy().tobytes())
    for state in optimizer.state_dict()["state"].values():
        for value in state.values():
            digest.update(value.numpy().tobytes())
    return digest.hexdigest()


@TWO_CORES
def test_an_lstm_learns_the_same_bits_at_any_thread_count():
    """What lets the bi-LSTM job grow: the premise of THREAD_INVARIANT_CELLS, checked here."""
    lstm = ModelParams(class_name="L", title="bi-LSTM", cell="lstm", embedding_dim=100, hidden_dim=200, num_layers=2, bidirectional=True, dropout=0.5)
    assert "lstm" in threads_module.THREAD_INVARIANT_CELLS
    one = _train_digest(lstm, [1])
    assert _train_digest(lstm, [2]) == one
    assert _train_digest(lstm, [1, 2, 2, 1]) == one


def load_train_script():
    spec = importlib.util.spec_from_file_location("train_script", ROOT / "workflow/scripts/train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRAIN_OUTPUT_ARGS = ["--arch", "x", "--checkpoint", "c", "--resume", "r", "--metrics", "m", "--history", "h", "--structure", "s"]
TRAIN_OUTPUT_ARGS += ["--predictions", "p", "--threads", "1"]


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_train_cli_refuses_a_bad_max_threads(value, capsys):
    script = load_train_script()
    base = TRAIN_OUTPUT_ARGS
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args([*base, "--max-threads", value])
    assert exit_info.value.code == 2
    assert "--max-threads must be 'auto' or a whole number" in capsys.readouterr().err


def test_train_cli_max_threads_defaults_to_threads_and_auto_to_the_cores():
    script = load_train_script()
    base = TRAIN_OUTPUT_ARGS
    assert script.parse_args(base).max_threads == 1
    assert script.parse_args([*base, "--max-threads", "auto"]).max_threads == max(1, available_cores())
    assert script.parse_args([*base, "--max-threads", "3"]).max_threads == max(1, min(3, available_cores()))
    assert script.parse_args([*base, "--max-threads", "64"]).max_threads == max(1, available_cores())  # never more than the cores
