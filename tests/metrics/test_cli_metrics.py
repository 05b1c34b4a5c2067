"""`raremap metrics` on the bundled data: the JSON object's keys and ranges, and readable errors."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from typer.testing import CliRunner

from raremap.cli import _register_commands, app

STAGE_KEYS = {"hhi", "top1", "top3_share", "n1_coverage", "import_reliance", "supplier_shares"}
TOP_KEYS = {"importer", "year", "stages", "geopolrisk", "eu_supply_risk", "eu_economic_importance", "crma"}


def run(*arguments: str) -> Any:
    _register_commands()
    return CliRunner().invoke(app, ["metrics", *arguments])


def is_fraction(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and 0.0 <= value <= 1.0 + 1e-9)


@pytest.mark.parametrize("element", ["REO", "Dy"])
def test_json_has_the_issue_keys_and_fractions(element: str) -> None:
    result = run("--json", "--element", element)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(summary) == TOP_KEYS
    assert summary["importer"] == "IND"
    assert isinstance(summary["year"], int)
    assert set(summary["stages"]) == {"mining", "separation", "metal", "magnet"}
    for stage in summary["stages"].values():
        assert set(stage) == STAGE_KEYS
        assert set(stage["top1"]) == {"country", "share"}
        for value in (
            stage["hhi"],
            stage["top1"]["share"],
            stage["top3_share"],
            stage["n1_coverage"],
            stage["import_reliance"],
            *stage["supplier_shares"].values(),
        ):
            assert is_fraction(value)
        if stage["supplier_shares"]:
            assert math.isclose(sum(stage["supplier_shares"].values()), 1.0, rel_tol=1e-9)
    assert is_fraction(summary["geopolrisk"])
    assert summary["eu_supply_risk"] is None or summary["eu_supply_risk"] >= 0
    for check in summary["crma"].values():
        assert set(check) == {"value", "target", "pass"}
        assert is_fraction(check["value"]) and is_fraction(check["target"])


def test_reo_json_names_china_at_separation() -> None:
    summary = json.loads(run("--json").output)
    assert summary["stages"]["separation"]["top1"]["country"] == "CHN"
    assert summary["stages"]["mining"]["hhi"] > 0


def test_tables_say_year_and_data() -> None:
    result = run("--importer", "ind")
    assert result.exit_code == 0, result.output
    assert "year" in result.output and "dataset" in result.output and "CRMA" in result.output


def test_unknown_importer_is_a_person_fixable_error() -> None:
    result = run("--importer", "XYZ")
    assert result.exit_code != 0
    assert "unknown importer 'XYZ'" in str(result.exception)
