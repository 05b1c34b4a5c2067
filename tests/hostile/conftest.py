"""The hostile-input suite (slow tier): every case of issue 18 as a fixture, and hypothesis for YAML,
CSV and JSON bodies. At the end it prints how many cases it tried and what became of them."""

from __future__ import annotations

import pytest

from tests.hostile.tally import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if sum(TALLY.counts.values()):
        terminalreporter.section("hostile inputs")
        for line in TALLY.lines():
            terminalreporter.write_line(line)
