"""`schemathesis run --checks all` with the token, stateful phase included: 0 failures.

The server runs on a loopback port; schemathesis runs as its command line does, with the settings
in `schemathesis.toml` beside this file (which states its one exception and why).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import raremap
from raremap.web.app import create_app
from tests.web.conftest import TOKEN, running, settings_for

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 40


@pytest.mark.slow
def test_schemathesis_finds_no_failure(tmp_path: Path, dataset: raremap.Dataset) -> None:
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    application = create_app(settings_for(tmp_path / "schemathesis.duckdb", max_periods=3, max_pending_jobs=4), dataset)
    with running(application) as server:
        result = subprocess.run(
            [command, "--config-file", str(CONFIG), "run", f"{server.url}/openapi.json", "--checks", "all",
             "--header", f"Authorization: Bearer {TOKEN}", "--max-examples", str(EXAMPLES), "--workers", "1",
             "--phases", "examples,coverage,fuzzing,stateful", "--no-color"],
            capture_output=True, text=True, timeout=1500, check=False,
        )
    summary = result.stdout[result.stdout.rfind("SUMMARY"):] if "SUMMARY" in result.stdout else result.stdout[-3000:]
    print(summary)
    assert result.returncode == 0, summary + result.stderr[-2000:]
    assert "Stateful" in result.stdout, "the stateful phase did not run"
    assert re.search(r"(\d+) generated, \1 passed", summary), summary
