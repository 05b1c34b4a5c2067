"""Scenario, risk and plan files: every problem in one pass, real dates, horizons, codes in any case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import raremap
from raremap.errors import RaremapError
from raremap.plan.loading import PlanError, load_plan
from raremap.scenario import ScenarioError, load_scenario
from raremap.scenario.checks import contradiction_problems
from raremap.scenario.loading import validate_document

FIVE_MISTAKES = """
name: five
base: baseline
export_controls:
  - {exporter: CNH, stages: [magnet], start: 2026-13-01, form: ban}
  - {exporter: CHN, stages: [magnet], start: 2040, form: ban}
disruptions:
  - {country: AUS, stage: mining, share_lost: 1.5, start: 2026}
demand: {path: stated-policy}
colour: red
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_five_mistakes_are_reported_in_one_run(tmp_path: Path, dataset: raremap.Dataset) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, FIVE_MISTAKES), dataset)
    problems = caught.value.problems
    expected = [
        'export_controls[0].start = "2026-13-01": is not a real date: there is no month 13',
        "export_controls[0].exporter = 'CNH': unknown country; did you mean 'CHN'?",
        "export_controls[1] starts in 2040, after the horizon ends (2035), so it changes nothing",
        "disruptions[0].share_lost = 1.5",
        "demand.path = 'stated-policy': no demand rows on this path; did you mean 'stated-policies'?",
        "colour: unknown key",
    ]
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), (start, problems)


@pytest.mark.parametrize("start", ["2025-02-30", "2026-13-01", "2026-13"])
def test_dates_that_do_not_exist_are_clean_errors(tmp_path: Path, start: str) -> None:
    text = f"name: d\nexport_controls:\n  - {{exporter: CHN, stages: [magnet], start: {start}, form: ban}}\n"
    with pytest.raises(ScenarioError, match=r"export_controls\[0\]\.start = .*is not a real date"):
        load_scenario(write(tmp_path, text))


@pytest.mark.parametrize(
    ("item", "path"),
    [
        ("capacity_changes: [{country: IND, stage: magnet, capacity_t: 500, online_year: 2040}]", "capacity_changes[0]"),
        ("disruptions: [{country: AUS, stage: mining, share_lost: 0.5, start: 2036}]", "disruptions[0]"),
        ("policies: {export_bans: [{country: IND, stages: [mining], start: 2020, end: 2022}]}", "policies.export_bans[0]"),
    ],
)
def test_shocks_outside_the_horizon_change_nothing_and_are_errors(tmp_path: Path, item: str, path: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(path) + " (starts|ends) in"):
        load_scenario(write(tmp_path, f"name: h\nbase: baseline\n{item}\n"))


@pytest.mark.parametrize(
    ("value", "reason"),
    [(".nan", "not a finite number"), (".inf", "not a finite number"), ("-.inf", "not a finite number"),
     ("1.0e+400", "not a finite number"), ("1e400", "Input should be a valid number")],  # YAML 1.1 reads 1e400 as text
)
def test_non_finite_numbers_are_refused(tmp_path: Path, value: str, reason: str) -> None:
    text = f"name: n\ncapacity_changes: [{{country: IND, stage: magnet, capacity_t: {value}, online_year: 2028}}]\n"
    with pytest.raises(ScenarioError, match=r"capacity_changes\[0\]\.capacity_t = .*" + reason):
        load_scenario(write(tmp_path, text))


def test_country_codes_are_read_in_any_case(tmp_path: Path, dataset: raremap.Dataset) -> None:
    text = "name: lower\nbase: baseline\nimporter: ind\ndisruptions: [{country: aus, stage: mining, share_lost: 0.5, start: 2026}]\n"
    scenario = load_scenario(write(tmp_path, text), dataset)
    assert scenario.importer == "IND" and scenario.disruptions[0].country == "AUS"


def test_a_repeated_key_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(RaremapError, match=r"scenario.yaml line 3 column 1: key 'importer' appears twice"):
        load_scenario(write(tmp_path, "name: d\nimporter: IND\nimporter: CHN\n"))


def test_a_text_too_long_is_refused() -> None:
    with pytest.raises(ScenarioError, match="description: text of 20,000 characters"):
        validate_document({"name": "long", "description": "x" * 20_000})


def test_zero_is_not_false() -> None:
    with pytest.raises(ScenarioError, match=r"settings\.calibration = 0: Input should be a valid boolean"):
        validate_document({"name": "strict", "settings": {"calibration": 0}})


def test_contradictions_are_found_in_n_log_n_steps() -> None:
    disruptions = [{"country": "AUS", "stage": "mining", "share_lost": 0.1, "start": 2026, "duration_years": 5}] * 3000
    disruptions += [{"country": "AUS", "stage": "mining", "share_lost": 0.95, "start": 2027}]
    scenario = validate_document({"name": "many", "disruptions": disruptions})
    problems = contradiction_problems(scenario)
    assert len(problems) == 1 and problems[0].startswith("disruptions[3000] = AUS mining from 2027")


def test_plan_names_and_values_are_reported_together(tmp_path: Path, dataset: raremap.Dataset) -> None:
    text = (
        "name: p\nimporter: ind\nbudget_usd_million: -1\n"
        "offtakes: [{name: o, partner: AUX, stage: magnet, maximum_t: 100}]\n"
    )
    with pytest.raises(PlanError) as caught:
        load_plan(write(tmp_path, text, "plan.yaml"), dataset)
    text_of_error = str(caught.value)
    assert "budget_usd_million = -1" in text_of_error and "offtakes[0].partner = 'AUX': unknown country; did you mean 'AUS'?" in text_of_error
    assert "importer" not in text_of_error  # ind is IND


def test_risk_names_and_values_are_reported_together(tmp_path: Path, dataset: raremap.Dataset) -> None:
    from raremap.risk.loading import RiskFileError, load_risk_model

    text = "name: r\noverrides: [{country: ATL, annual_probability: 1.5}]\nexport_control: {destinations: [ind, XYZ]}\n"
    with pytest.raises(RiskFileError) as caught:
        load_risk_model(write(tmp_path, text, "risk.yaml"), dataset)
    problems = caught.value.problems
    assert any(problem.startswith("overrides[0].annual_probability = 1.5") for problem in problems)
    assert any(problem.startswith("overrides[0].country = 'ATL': unknown country") for problem in problems)
    assert any(problem.startswith("export_control.destinations[1] = 'XYZ'") for problem in problems)
    assert not any("destinations[0]" in problem for problem in problems)  # ind is IND
