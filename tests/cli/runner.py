"""Run the `raremap` command line in a subprocess, as a person would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_raremap(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "raremap", *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )
