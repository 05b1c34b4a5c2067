"""Run the command line in this process on a hostile input and classify what happened."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from raremap.cli import main
from tests.hostile.tally import TALLY


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str
    error: str
    changed: tuple[str, ...]

    @property
    def clean_error(self) -> bool:
        """Status 1 and a message starting `error:`, or a usage error (status 2, the usage line);
        never an internal error or a traceback."""
        refused = (self.code == 1 and self.error.startswith("error:")) or (
            self.code == 2 and self.error.startswith("Usage:") and "\nError: " in self.error
        )
        return refused and "internal error" not in self.error and "Traceback" not in self.error


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a digest of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def attempt(capsys: pytest.CaptureFixture[str], folder: Path, source: str, *arguments: str) -> Outcome:
    """Run `raremap ARGUMENTS`; record the outcome under `source` in the tally."""
    before = snapshot(folder)
    try:
        main(list(arguments))
        code = 0
    except SystemExit as exited:
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    after = snapshot(folder)
    changed = tuple(sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name)))
    outcome = Outcome(code, captured.out, captured.err, changed)
    if outcome.clean_error and changed:
        TALLY.record(source, "unexpected write", f"{arguments}: {changed}")
    elif outcome.clean_error:
        TALLY.record(source, "clean error")
    elif code == 0:
        TALLY.record(source, "accepted")
    else:
        TALLY.record(source, "crash", f"{arguments}: {captured.err}")
    return outcome
