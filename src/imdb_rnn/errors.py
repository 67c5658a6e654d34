"""One kind of error a user can cause, and the one-line way it is reported.

A :class:`UserError` means "the input is wrong, here is how to fix it": stage programs
print its message on one line and exit non-zero, without a traceback. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """A problem the user can fix: bad params, a bad archive, a missing file."""


EXIT_USER_ERROR = 2


def run_cli(main: Callable[[list[str] | None], object], argv: list[str] | None = None) -> int:
    """Run a stage's ``main`` and turn a :class:`UserError` into one line and exit code 2."""
    try:
        main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to continue", file=sys.stderr)
        return 130
    return 0
