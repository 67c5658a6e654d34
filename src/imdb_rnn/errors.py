"""One kind of error a user can cause, and the one-line way it is reported.

A :class:`UserError` means "the input is wrong, here is how to fix it": stage programs
print its message on one line and exit non-zero, without a traceback. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType


class UserError(Exception):
    """A problem the user can fix: bad params, a bad archive, a missing file."""


class Terminated(BaseException):
    """SIGTERM arrived. Raised in the main thread so that every ``finally`` and every
    :func:`imdb_rnn.fileio.atomic_path` on the way out removes what it had half written.

    A BaseException, as KeyboardInterrupt is, so that no ``except Exception`` swallows it.
    """


EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
EXIT_TERMINATED = 128 + signal.SIGTERM


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM (say, during the cleanup this one starts) ends the process at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated


def run_cli(main: Callable[[list[str] | None], object], argv: list[str] | None = None) -> int:
    """Run a stage's ``main`` and turn a :class:`UserError` into one line and exit code 2.

    Ctrl-C and SIGTERM (what `kill`, Slurm and container runtimes send to stop a process) end with one
    line too, exit 130 and 143, after every write in progress has removed its temporary file.
    """
    # Signal handlers can be set only from the main thread (tests may call run_cli elsewhere).
    handles_sigterm = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if handles_sigterm else None
    # None: the handler in place was not set from Python, which means the default one.
    previous = signal.SIG_DFL if previous is None else previous
    try:
        main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("error: terminated; rerun the same command to continue", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        if handles_sigterm:
            signal.signal(signal.SIGTERM, previous)
    return 0
