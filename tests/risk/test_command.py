
"""`raremap risk` on the command line: JSON keys, progress kept off stdout, errors as one red line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.runner import run_raremap


@pytest.mark.slow
def test_json_output_has_the_documented_keys(tmp_path: Path, small_risk_file: Path) -> None:
    result = run_raremap("risk", str(small_risk_file), "--draws", "30", "--seed", "3", "--out", str(tmp_path / "run"),
                         "--db", str(tmp_path / "store.duckdb"), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"importer", "horizon", "draws", "seed", "draws_per_second", "solved_draws", "summary", "drivers"} <= set(payload)
    assert payload["draws"] == 30 and payload["seed"] == 3
    assert payload["importer"] == "IND" and payload["horizon"] == "2025 to 2026"
    assert set(payload["summary"]["ev"]) == {
        "unit", "horizon", "expected_shortfall_t", "var95_t", "cvar95_t", "p_exceed_10pct",
        "expected_excess_shortfall_t", "var95_excess_t", "cvar95_excess_t", "p_excess_exceed_10pct",
    }
    assert payload["summary"]["all magnet sectors"]["unit"] == "t magnet"
    assert "all" not in payload["summary"]


def test_bad_draws_is_one_red_line(tmp_path: Path) -> None:
    result = run_raremap("risk", "default", "--draws", "0", "--out", str(tmp_path / "run"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "draws = 0" in lines[0] and "given with the command" in lines[0]
    assert "default.yaml" not in lines[0]  # the bundled file is not to blame
