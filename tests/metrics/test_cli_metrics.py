"""`raremap metrics` on the bundled data: the JSON object's keys, units and reasons, and readable errors."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from raremap.cli import _register_commands, app, main

STAGE_KEYS = {
    "unit",
    "series",
    "world_t",
    "hhi",
    "top1",
    "top3_share",
    "world_n1_coverage",
    "world_demand_n1_coverage",
    "production_t",
    "imports_t",
    "exports_t",
    "apparent_consumption_t",
    "import_reliance",
    "n1_coverage",
    "demand_n1_coverage",
    "supplier_shares",
    "reasons",
    "notes",
}
TOP_KEYS = {
    "importer",
    "element",
    "year",
    "basis",
    "scenario",
    "data",
    "units",
    "stages",
    "geopolrisk",
    "eu_supply_risk",
    "eu_supply_risk_bottleneck",
    "eu_economic_importance",
    "eu_verdict",
    "crma",
    "reasons",
}


def run(*arguments: str) -> Any:
    _register_commands()
    return CliRunner().invoke(app, ["metrics", *arguments])


def is_fraction(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and 0.0 <= value <= 1.0 + 1e-9)


@pytest.mark.parametrize("element", ["REO", "Dy"])
def test_json_has_units_reasons_and_fractions(element: str) -> None:
    result = run("--json", "--element", element)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(summary) == TOP_KEYS
    assert summary["importer"] == "IND" and summary["element"] == element
    assert isinstance(summary["year"], int)
    assert summary["basis"] == "data as reported"
    assert set(summary["stages"]) == {"mining", "separation", "metal", "magnet"}
    for stage in summary["stages"].values():
        assert set(stage) - {"projected_demand_t"} == STAGE_KEYS
        assert stage["unit"].startswith("t ")
        assert set(stage["top1"]) == {"country", "share"}
        for key in ("hhi", "top3_share", "n1_coverage", "import_reliance", "world_n1_coverage"):
            assert is_fraction(stage[key])
            if stage[key] is None:
                assert stage["reasons"][key]
        if stage["supplier_shares"]:
            assert math.isclose(sum(stage["supplier_shares"].values()), 1.0, rel_tol=1e-9)
        elif stage["supplier_shares"] is None:
            assert stage["reasons"]["supplier_shares"]
    assert is_fraction(summary["geopolrisk"])
    for check in summary["crma"].values():
        assert {"value", "target", "pass", "note"} <= set(check)
        assert is_fraction(check["value"]) and is_fraction(check["target"])
        if check["value"] is None:
            assert check["reasons"]["value"]


def test_reo_json_names_china_at_separation_and_the_series() -> None:
    summary = json.loads(run("--json").output)
    separation = summary["stages"]["separation"]
    assert separation["top1"]["country"] == "CHN"
    assert separation["series"] == "main"
    assert summary["stages"]["mining"]["hhi"] > 0


def test_tables_say_year_basis_data_and_footnote_every_na() -> None:
    result = run("--importer", "ind")
    assert result.exit_code == 0, result.output
    assert "year 2024: data as reported" in result.output and "dataset" in result.output
    assert "CRMA" in result.output
    assert not re.search(r"\bnan\b", result.output.lower())
    assert "n/a [1]" in result.output and "  [1] " in result.output


def test_series_option_reads_another_series() -> None:
    summary = json.loads(run("--json", "--series", "mining=wmd").output)
    assert summary["stages"]["mining"]["series"] == "wmd"
    assert summary["stages"]["separation"]["series"] == "main"


@pytest.mark.slow
def test_a_year_beyond_the_data_is_the_baseline_projection() -> None:
    result = run("--json", "--year", "2035")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["basis"] == "projection of scenario baseline"
    magnet = summary["stages"]["magnet"]
    assert magnet["world_demand_n1_coverage"] is not None
    assert magnet["world_demand_n1_coverage"] <= magnet["world_n1_coverage"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--importer", "XYZ"], "unknown importer 'XYZ'"),
        (["--importer", "TCD"], "the data hold no trade, output or demand figure for importer 'TCD'"),
        (["--element", "Dyy"], "unknown element 'Dyy' (did you mean Dy?)"),
        (["--element", "Pm"], "the data hold no figure for element 'Pm'"),
        (["--year", "2040"], "year 2040 is outside the data (2018-2024) and the projection of scenario baseline (2024-2035)"),
        (["--year", "1990"], "year 1990 is outside the data"),
        (["--series", "usgs"], "unknown production series 'usgs'"),
        (["--series", "smelting=wmd"], "unknown stage in --series 'smelting'"),
        (["--scenario", "nope", "--year", "2030"], "nope"),
    ],
)
def test_bad_input_is_one_red_line_with_the_fix_and_status_1(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["metrics", *arguments])
    assert exit_.value.code == 1
    error = capsys.readouterr().err.strip()
    assert "Traceback" not in error
    assert len(error.splitlines()) == 1, error
    assert error.startswith("error: ") and message in error
    if "scenario" not in message and "nope" not in message:
        assert "fix" in error or "valid values" in error or "pick" in error
