"""The capacity pipeline agrees with the capacity table, and every source is cited and every citation exists."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import raremap
from raremap.data.dataset import Dataset
from raremap.errors import ConsistencyError, Problem
from tests.helpers import copy_table, read_text_table, write_text_table


def problems_of(directory: Path) -> list[Problem]:
    with pytest.raises(ConsistencyError) as caught:
        raremap.load(directory)
    return list(caught.value.problems)


def cited_sources(dataset: Dataset) -> set[str]:
    return {
        str(source)
        for name, frame in dataset.tables.items()
        if name != "sources"
        for source in frame["source_id"].dropna()
    }


def test_every_source_is_cited_by_at_least_one_row_or_back_test(dataset: Dataset) -> None:
    from raremap.backtest.loading import cited_sources as cited_by_episodes

    listed = set(dataset["sources"]["source_id"])
    uncited = sorted(listed - cited_sources(dataset) - cited_by_episodes())
    assert not uncited, f"sources.csv lists sources no row or back-test episode cites: {uncited}"


def test_every_cited_source_is_listed(dataset: Dataset) -> None:
    missing = sorted(cited_sources(dataset) - set(dataset["sources"]["source_id"]))
    assert not missing, f"rows cite sources missing from sources.csv: {missing}"


def test_every_row_of_the_owned_tables_says_as_of_when(dataset: Dataset) -> None:
    for table in ("capacity", "projects", "lead_times", "costs", "parameters", "policies", "partnerships",
                  "reserves", "deposits", "country_deposits", "ore_composition", "governance",
                  "conversions", "intensity"):
        frame = dataset[table]
        assert frame["as_of"].notna().all(), table


def test_each_capacity_facility_mirrors_a_project(dataset: Dataset) -> None:
    capacity, projects = dataset["capacity"], dataset["projects"].set_index("project")
    facilities = capacity[~capacity["facility"].str.contains("national total")]
    for row in facilities.itertuples():
        project = projects.loc[row.facility]
        assert (project["country"], project["stage"], project["element"], project["capacity_t"]) == (
            row.country, row.stage, row.element, row.value_t)


def test_a_capacity_row_that_contradicts_its_project_is_reported(tmp_path: Path) -> None:
    path = copy_table("capacity", tmp_path)
    frame = read_text_table(path)
    line = frame.index[frame["facility"] == "Lynas Malaysia (Kuantan)"][0]
    frame.loc[line, "value_t"] = "12000"
    write_text_table(frame, path)
    problems = [problem for problem in problems_of(tmp_path) if problem.column == "value_t"]
    assert problems and problems[0].file == "capacity.csv" and "projects.csv" in problems[0].message
    assert problems[0].value == 12000


def test_a_capacity_facility_missing_from_projects_is_reported(tmp_path: Path) -> None:
    path = copy_table("capacity", tmp_path)
    frame = read_text_table(path)
    frame.loc[frame.index[0], "facility"] = "A plant nobody lists"
    write_text_table(frame, path)
    problem = next(problem for problem in problems_of(tmp_path) if problem.column == "facility")
    assert problem.value == "A plant nobody lists" and "projects" in problem.fix


def test_operating_projects_above_a_national_total_are_reported(tmp_path: Path) -> None:
    path = copy_table("projects", tmp_path)
    frame = read_text_table(path)
    extra = frame.iloc[[0]].copy()
    extra.loc[:, ["project", "country", "stage", "element", "capacity_t", "status", "expected_start"]] = [
        "A huge Chinese mine", "CHN", "mining", "REO", "900000", "operating", "2020"]
    write_text_table(pd.concat([frame, extra], ignore_index=True), path)
    problem = next(problem for problem in problems_of(tmp_path) if "national total" in problem.message)
    assert problem.file == "capacity.csv" and problem.column == "value_t"
