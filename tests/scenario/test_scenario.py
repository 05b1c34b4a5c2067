"""Scenario files: validation with YAML paths, checks against the dataset, merging, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raremap.scenario import (
    ScenarioError,
    builtin_names,
    json_schema,
    load_scenario,
    override,
    validate_document,
)
from raremap.scenario.checks import check_against_dataset

REPOSITORY = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_builtin_scenario_loads_and_passes_the_dataset_checks(dataset: object) -> None:
    names = builtin_names()
    assert {"baseline", "china-2025-controls", "china-2025-october", "monazite-export-ban",
            "india-magnet-scheme", "australia-disruption", "myanmar-clay-shutdown"} <= set(names)
    for name in names:
        assert load_scenario(name, dataset).name == name


def test_builtin_copies_under_scenarios_match_the_package() -> None:
    for name in builtin_names():
        packaged = (REPOSITORY / "src/raremap/scenario/builtin" / f"{name}.yaml").read_text()
        assert (REPOSITORY / "scenarios" / f"{name}.yaml").read_text() == packaged


def test_unknown_element_is_named_by_its_yaml_path_with_a_suggestion(tmp_path: Path, dataset: object) -> None:
    path = write(tmp_path, """
name: typo
base: baseline
export_controls:
  - {exporter: CHN, stages: [magnet], elements: [NdFeB, Dyy], start: 2025, form: ban}
""")
    with pytest.raises(ScenarioError, match=r"export_controls\[0\]\.elements\[1\] = 'Dyy'.*did you mean 'Dy'"):
        load_scenario(path, dataset)


def test_unknown_key_and_negative_quota_are_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, """
name: bad
export_controls:
  - {exporter: CHN, stages: [magnet], start: 2025, form: quota, quota_t: -5}
disruptons: []
""")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problems = caught.value.problems
    assert any(problem.startswith("export_controls[0].quota_t = -5") for problem in problems)
    assert any(problem.startswith("disruptons: unknown key") for problem in problems)


def test_unknown_stage_is_refused_with_its_path() -> None:
    document = {"name": "x", "disruptions": [{"country": "AUS", "stage": "refining", "share_lost": 0.5, "start": 2026}]}
    with pytest.raises(ScenarioError, match=r"disruptions\[0\]\.stage = \"refining\""):
        validate_document(document)


def test_a_stock_whose_element_does_not_fit_its_stage_is_refused() -> None:
    document = {"name": "x", "stockpiles": [{"holder": "IND", "stage": "magnet", "element": "Nd", "size_t": 100}]}
    with pytest.raises(ScenarioError, match=r"stockpiles\[0\].*magnet-stage stock holds magnets, not Nd"):
        validate_document(document)


def test_contradictory_disruptions_and_uncovered_periods_are_errors(dataset: object) -> None:
    document = {
        "name": "x",
        "periods": {"start": 2000, "end": 2035},
        "disruptions": [
            {"country": "AUS", "stage": "mining", "share_lost": 0.7, "start": 2026, "duration_years": 3},
            {"country": "AUS", "stage": "mining", "share_lost": 0.5, "start": 2027},
        ],
    }
    early = validate_document(document)
    with pytest.raises(ScenarioError, match=r"periods.start = 2000: the production table has no world figure"):
        check_against_dataset(early, dataset)
    scenario = validate_document({**document, "periods": {"start": 2024, "end": 2035}})
    with pytest.raises(ScenarioError, match=r"disruptions\[1\] = AUS mining from 2027: together with disruptions\[0\]"):
        check_against_dataset(scenario, dataset)


def test_override_deep_merges_and_returns_a_new_validated_copy() -> None:
    base = load_scenario("china-2025-controls")
    changed = override(base, {"periods": {"end": 2030}, "settings": {"capacity_headroom": 1.2}})
    assert changed.periods.end == 2030 and changed.periods.start == 2024
    assert changed.export_controls == base.export_controls
    assert base.periods.end == 2035
    with pytest.raises(ScenarioError, match=r"periods\.length"):
        override(base, {"periods": {"length": 0}})


def test_scenarios_are_frozen() -> None:
    scenario = load_scenario("baseline")
    with pytest.raises(Exception, match="frozen"):
        scenario.name = "changed"  # type: ignore[misc]


def test_published_json_schema_is_current() -> None:
    published = json.loads((REPOSITORY / "docs" / "scenario-schema.json").read_text())
    assert published == json.loads(json.dumps(json_schema()))


def test_a_shorter_horizon_cuts_the_inherited_quarters_and_a_written_stretch_is_still_checked(dataset: object) -> None:
    baseline = load_scenario("baseline", dataset)
    assert baseline.periods.sub_annual is not None and baseline.periods.sub_annual.end == 2026
    short = override(baseline, {"periods": {"start": 2024, "end": 2025}}, dataset)
    assert short.periods.sub_annual is not None
    assert (short.periods.sub_annual.start, short.periods.sub_annual.end) == (2025, 2025)
    assert override(baseline, {"periods": {"end": 2024}}, dataset).periods.sub_annual is None
    assert override(baseline, {"periods": {"length": 5}}, dataset).periods.sub_annual is None
    with pytest.raises(ScenarioError, match=r"sub_annual\.end 2026 is after end 2025"):
        override(baseline, {"periods": {"end": 2025, "sub_annual": {"start": 2025, "end": 2026, "parts_per_year": 4}}}, dataset)
