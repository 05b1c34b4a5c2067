"""Episode files: every bundled one loads; bad input is refused with its YAML path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from raremap.backtest import EpisodeError, episode_names, load_episode
from raremap.backtest.loading import FILES

GOOD_OUTCOME = {
    "id": "exports",
    "description": "China's magnet exports",
    "measure": "exports",
    "select": {"exporter": "CHN", "stages": ["magnet"]},
    "period": 2025,
    "comparison": "ratio_to_base_year",
    "observed": 0.98,
    "unit": "ratio to 2024",
    "sources": ["adamas_2025_china_magnet_exports_2024"],
    "evidence": "January-November 2025 against January-November 2024.",
    "tolerance": {"absolute": 0.05, "justification": "December is missing from the observed year."},
}


def write_episode(tmp_path: Path, **changes: object) -> Path:
    document = {
        "name": "test-episode",
        "title": "A test episode",
        "base_year": 2024,
        "scenario": {"periods": {"start": 2024, "end": 2025}},
        "outcomes": [GOOD_OUTCOME],
    }
    document.update(changes)
    path = tmp_path / "episode.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_every_bundled_episode_loads_against_the_data(dataset):
    names = episode_names()
    assert {"china-2010-export-quotas", "china-2025-licensing", "myanmar-2024-kachin"} <= set(names)
    for name in names:
        episode = load_episode(name, dataset)
        assert episode.outcomes and all(outcome.sources for outcome in episode.outcomes)
        assert all(len(outcome.tolerance.justification.split()) >= 5 for outcome in episode.outcomes)


def test_bundled_episodes_say_what_the_engine_cannot_express():
    for name in episode_names():
        assert load_episode(name).engine_limits, f"{name} names no engine limit"


def test_a_good_file_loads(tmp_path, dataset):
    episode = load_episode(write_episode(tmp_path), dataset)
    assert episode.outcomes[0].period.calendar_year() == 2025


def test_an_outcome_without_a_source_names_its_path_and_the_fix(tmp_path):
    outcome = {key: value for key, value in GOOD_OUTCOME.items() if key != "sources"}
    with pytest.raises(EpisodeError) as raised:
        load_episode(write_episode(tmp_path, outcomes=[outcome]))
    message = str(raised.value)
    assert "outcomes[0].sources" in message
    assert "cite the source_id" in message


def test_an_empty_source_list_is_refused_too(tmp_path):
    with pytest.raises(EpisodeError, match=r"outcomes\[0\]\.sources: an outcome needs at least one source"):
        load_episode(write_episode(tmp_path, outcomes=[{**GOOD_OUTCOME, "sources": []}]))


def test_a_tolerance_without_a_justification_names_its_path_and_the_fix(tmp_path):
    outcome = {**GOOD_OUTCOME, "tolerance": {"relative": 0.1}}
    with pytest.raises(EpisodeError) as raised:
        load_episode(write_episode(tmp_path, outcomes=[outcome]))
    message = str(raised.value)
    assert "outcomes[0].tolerance.justification" in message
    assert "before running the model" in message


def test_a_one_word_justification_is_not_a_justification(tmp_path):
    outcome = {**GOOD_OUTCOME, "tolerance": {"relative": 0.1, "justification": "generous"}}
    with pytest.raises(EpisodeError, match=r"outcomes\[0\]\.tolerance\.justification"):
        load_episode(write_episode(tmp_path, outcomes=[outcome]))


def test_a_base_year_with_no_data_names_the_tables_and_the_fix(tmp_path, dataset):
    path = write_episode(tmp_path, base_year=2005, scenario={"periods": {"start": 2005, "end": 2006}})
    with pytest.raises(EpisodeError) as raised:
        load_episode(path, dataset)
    message = str(raised.value)
    assert "base_year = 2005" in message
    assert "production (series main" in message and "trade" in message
    assert "add the base year's history" in message


def test_a_source_missing_from_sources_csv_is_named(tmp_path, dataset):
    outcome = {**GOOD_OUTCOME, "sources": ["no_such_source_2099"]}
    with pytest.raises(EpisodeError, match=r"outcomes\[0\]\.sources\[0\] = 'no_such_source_2099': not in sources.csv"):
        load_episode(write_episode(tmp_path, outcomes=[outcome]), dataset)


def test_unknown_keys_and_a_scenario_problem_are_listed_together(tmp_path):
    path = write_episode(
        tmp_path,
        colour="blue",
        scenario={"periods": {"start": 2023, "end": 2025}, "export_controls": [{"exporter": "CHN"}]},
    )
    with pytest.raises(EpisodeError) as raised:
        load_episode(path)
    message = str(raised.value)
    assert "colour: unknown key" in message


def test_scenario_problems_carry_the_scenario_prefix(tmp_path):
    path = write_episode(tmp_path, scenario={"periods": {"start": 2023, "end": 2025}, "export_controls": [{"exporter": "CHN"}]})
    with pytest.raises(EpisodeError) as raised:
        load_episode(path)
    message = str(raised.value)
    assert "scenario.export_controls[0].stages: required" in message
    assert "scenario.periods.start = 2023: the scenario must start in the base year 2024" in message


def test_a_ratio_to_a_year_needs_that_year(tmp_path):
    outcome = {**GOOD_OUTCOME, "comparison": "ratio_to_year"}
    with pytest.raises(EpisodeError, match="relative_to"):
        load_episode(write_episode(tmp_path, outcomes=[outcome]))


def test_an_unknown_episode_name_suggests_the_closest():
    with pytest.raises(Exception, match="did you mean china-2025-licensing"):
        FILES.read("china-2025-licencing")


def test_the_episodes_cite_every_source_the_back_tests_added_and_no_table_row_cites(dataset):
    """sources.csv holds sources cited only by episodes (observed outcomes, the shocks' tonnages)."""
    from raremap.backtest import cited_sources

    in_tables = {
        str(source) for name, frame in dataset.tables.items() if name != "sources" for source in frame["source_id"].dropna()
    }
    uncited = set(dataset["sources"]["source_id"].astype(str)) - in_tables - cited_sources()
    assert not uncited, f"sources no table row and no episode cites: {sorted(uncited)}"


def test_a_scenario_source_missing_from_sources_csv_is_named(tmp_path, dataset):
    with pytest.raises(EpisodeError, match=r"scenario_sources\[0\] = 'no_such_quota_2099': not in sources.csv"):
        load_episode(write_episode(tmp_path, scenario_sources=["no_such_quota_2099"]), dataset)
