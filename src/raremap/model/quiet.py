"""Keeping the solver's console banner off stdout, where it would corrupt ``--json`` output.

HiGHS prints its banner from C++ when a solver object is created, before any option can silence
it, so only redirecting file descriptor 1 keeps it away. The descriptor is shared by every thread
of the process, and Dask workers solve in threads: the first thread in redirects, the last one
out restores, under a lock, so an overlap can never leave stdout pointing at /dev/null.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_saved_descriptor: int | None = None


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send what is written to file descriptor 1 to /dev/null while any thread is inside."""
    _enter()
    try:
        yield
    finally:
        _leave()


def _enter() -> None:
    global _depth, _saved_descriptor
    with _lock:
        if _depth == 0:
            sys.stdout.flush()
            try:
                saved = os.dup(1)
            except OSError:  # no descriptor 1 (a detached process): nothing to protect
                saved = None
            if saved is not None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.close(devnull)
            _saved_descriptor = saved
        _depth += 1


def _leave() -> None:
    global _depth, _saved_descriptor
    with _lock:
        _depth -= 1
        if _depth == 0 and _saved_descriptor is not None:
            sys.stdout.flush()
            os.dup2(_saved_descriptor, 1)
            os.close(_saved_descriptor)
            _saved_descriptor = None
