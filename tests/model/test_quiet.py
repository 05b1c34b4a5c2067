"""The solver banner guard: it hides descriptor 1 while any thread is inside, and always restores it."""

from __future__ import annotations

import os
import threading

import pytest

from raremap.model.quiet import quiet_stdout


def test_output_inside_is_dropped_and_output_after_reaches_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    os.write(1, b"before\n")
    with quiet_stdout():
        os.write(1, b"banner\n")
    os.write(1, b"after\n")
    assert capfd.readouterr().out == "before\nafter\n"


def test_overlapping_threads_leave_stdout_restored(capfd: pytest.CaptureFixture[str]) -> None:
    # A enters, B enters, A leaves while B is still inside, then B leaves: the order that left
    # stdout on /dev/null when each thread saved and restored descriptor 1 on its own.
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with quiet_stdout():
            a_inside.set()
            b_inside.wait(5)
        a_left.set()

    def second() -> None:
        a_inside.wait(5)
        with quiet_stdout():
            b_inside.set()
            a_left.wait(5)
            os.write(1, b"banner from B\n")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    os.write(1, b"after both\n")
    assert capfd.readouterr().out == "after both\n"
