"""What the command line prints for people: tables that fit the terminal, units, horizons, the why."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from rich.console import Console

from raremap import results
from raremap.cli import output
from raremap.cli.output import print_json, rich_table
from raremap.cli.simulate import print_summary, summary_json
from raremap.scenario.spec import Scenario
from raremap.simulate.run import Result
from tests.report.sample_runs import LEVER, simulation_frames


def rendered(renderable: object, width: int = 80) -> str:
    console = Console(width=width, record=True, highlight=False, emoji=False, soft_wrap=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    text = console.export_text()
    console.file.close()
    return text


PLAN_LIKE = pd.DataFrame(
    {
        "name": ["offtake-AUS-separation", "magnet-plant-IND", "metal-know-how-JPN"],
        "kind": ["offtake", "domestic plant", "technology"],
        "partner": ["AUS", "", "JPN"],
        "stage": ["separation", "magnet", "metal"],
        "elements": [["Nd", "Pr", "Dy"], [], ["Nd"]],
        "volume_t": [1500.0, 6000.0, float("nan")],
        "start": [2027, 2026, 2026],
        "outlay_usd_million": [120.5, 380.25, 0.30000000000000004],
        "expected_shortfall_change_t": [-152.3, -40.0, 0.0],
        "cvar_shortfall_change_t": [-800.0, -120.0, 0.0],
    }
)


@pytest.mark.parametrize("width", [80, 120])
def test_wide_tables_fit_the_terminal_without_breaking_words(width: int) -> None:
    text = rendered(rich_table(PLAN_LIKE, title="decisions"), width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "['" not in text and "Nd, Pr, Dy" in text, "lists print as words, never as Python reprs"
    for word in ("offtake-AUS-separation", "separation", "technology", "2027", "6,000", "380"):
        assert word in text, f"{word!r} is broken across lines"
    assert "2,027" not in text and "0.30000000000000004" not in text and "0.3" in text
    if width == 80:
        assert "(part 1 of" in text and text.count("offtake-AUS-separation") >= 2, "the key column is repeated"


def test_a_narrow_table_is_one_table() -> None:
    text = rendered(rich_table(pd.DataFrame({"year": ["2024", "total"], "shortfall": [0.0, 2778.4]})))
    assert "part" not in text and "2,778" in text


def test_headers_carry_units_and_shares_print_as_per_cent() -> None:
    frame = pd.DataFrame({"year": ["2025"], "tonnes": [3156.5], "share": [0.4679]})
    text = rendered(rich_table(frame, units={"tonnes": "t magnet", "share": "fraction"}))
    assert "tonnes (t magnet)" in text and "47%" in text and "fraction" not in text


def test_json_has_no_float_noise(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"share": 0.1 + 0.2, "missing": float("nan"), "seed": 1})
    assert json.loads(capsys.readouterr().out) == {"share": 0.3, "missing": None, "seed": 1}


def sample_result(name: str, severity: float, base: str | None = None, **extra: object) -> Result:
    tables = simulation_frames(severity)
    periods = tuple(dict.fromkeys(tables["shortfall"]["period"]))
    scenario = Scenario.model_validate({"name": name, "base": base, **extra})
    return Result(scenario=scenario, periods=periods, tables=tables, welfare_usd=6.8e11,
                  mass_balance_max_residual=1.5e-10, build_seconds=5.2, solve_seconds=3.1,
                  model_size={"variables": 87281, "constraints": 33872})


def summary_text(result: Result, base: Result | None, monkeypatch: pytest.MonkeyPatch) -> str:
    console = Console(width=80, record=True, highlight=False, emoji=False, soft_wrap=True, file=open("/dev/null", "w"))  # noqa: SIM115
    monkeypatch.setattr(output, "console", console)
    monkeypatch.setattr("raremap.cli.simulate.console", console)
    print_summary(result, base)
    console.file.close()
    return console.export_text()


def test_the_summary_says_what_the_numbers_mean_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    base = sample_result("baseline", 0.0)
    scheme = sample_result("india-magnet-scheme", 0.0, base="baseline", **LEVER)
    text = summary_text(scheme, base, monkeypatch)
    assert "What the numbers mean" in text and "Calibration supply" in text and "Perfect foresight" in text
    assert "IND shortfall per year, 2024-2030 (t magnet per year; quarters summed)" in text
    assert re.search(r"│ 2025 +│", text) and "2025-Q1" not in text.split("shortfall per year")[1].split("changes")[0]
    assert "changes nothing in IND's shortfall against baseline" in text
    assert "IND's magnet plants are not among the constraints that bind from 2029" in text
    assert "what binds for IND" in text and "shadow price" in text
    assert max(len(line) for line in text.splitlines() if line.startswith(("┃", "│", "┏", "└"))) <= 80


def test_simulate_json_documents_every_unit() -> None:
    base = sample_result("baseline", 0.0)
    controls = sample_result("china-2025-controls", 1.0, base="baseline")
    payload = summary_json(controls, base)
    for table in ("shortfall", "prices", "binding"):
        assert payload["units"][table] == {
            column: results.unit("simulation", table, column) for column in results.columns("simulation", table)
        }
    assert payload["units"]["prices"]["usd_per_kg"] == "USD per kg"
    assert payload["horizon"] == "2024-2030" and payload["importer"] == "IND"
    assert payload["compared_with"]["scenario"] == "baseline" and payload["compared_with"]["changed"] is True
    assert {row["unit"] for row in payload["importer_shortfall_by_year"]} == {"t magnet", "t REO"}
