"""Headline figures of the bundled data equal the numbers their cited sources publish.

Each expected value below is the figure printed in the named source (USGS Mineral Commodity
Summaries 2025, IEA Global Critical Minerals Outlook 2024, ...); the test also checks that the
row cites that source, so a silent swap of source or number fails.
"""

from __future__ import annotations

import pandas as pd
import pytest

from raremap.data.dataset import Dataset

USGS_2025 = "usgs_mcs_2025_ree"

MINE_PRODUCTION = [
    # (country, year, t REO) from USGS MCS 2025, Rare Earths, world mine production table
    ("WLD", 2024, 390_000),
    ("WLD", 2023, 376_000),
    ("CHN", 2024, 270_000),
    ("CHN", 2023, 255_000),
    ("USA", 2024, 45_000),
    ("MMR", 2024, 31_000),
    ("AUS", 2024, 13_000),
    ("IND", 2024, 2_900),
]
RESERVES = [
    # (country, t REO) from USGS MCS 2025 reserves column
    ("IND", 6_900_000),
    ("CHN", 44_000_000),
    ("BRA", 21_000_000),
    ("AUS", 5_700_000),
]


def main_row(frame: pd.DataFrame, **where: object) -> pd.Series:
    selected = frame[frame["series"] == "main"]
    for column, value in where.items():
        selected = selected[selected[column] == value]
    assert len(selected) == 1, f"expected one main-series row for {where}, found {len(selected)}"
    return selected.iloc[0]


@pytest.mark.parametrize(("country", "year", "tonnes"), MINE_PRODUCTION)
def test_mine_production_matches_usgs_2025(dataset: Dataset, country: str, year: int, tonnes: int) -> None:
    row = main_row(dataset["production"], country=country, stage="mining", element="REO", year=year)
    assert (row["value_t"], row["source_id"], row["quality"]) == (tonnes, USGS_2025, "reported")


@pytest.mark.parametrize(("country", "tonnes"), RESERVES)
def test_reserves_match_usgs_2025(dataset: Dataset, country: str, tonnes: int) -> None:
    row = main_row(dataset["reserves"], country=country, year=2024)
    assert (row["value_t"], row["source_id"]) == (tonnes, USGS_2025)


def test_india_holds_the_third_largest_reserves(dataset: Dataset) -> None:
    reserves = dataset["reserves"]
    latest = reserves[
        (reserves["series"] == "main") & (reserves["year"] == 2024) & (reserves["country"] != "WLD")
    ]
    ranking = list(latest.sort_values("value_t", ascending=False)["country"])
    assert ranking.index("IND") == 2


def test_china_separates_92_percent_as_iea_reports_for_2023(dataset: Dataset) -> None:
    production = dataset["production"]
    china = main_row(production, country="CHN", stage="separation", element="REO", year=2023)["value_t"]
    world = main_row(production, country="WLD", stage="separation", element="REO", year=2023)["value_t"]
    assert china / world == pytest.approx(0.92, abs=0.005)
    parameters = dataset["parameters"].set_index("parameter")
    assert parameters.loc["iea_china_refining_share_2023", "value"] == 0.92


def test_china_makes_about_90_percent_of_ndfeb_magnets(dataset: Dataset) -> None:
    production = dataset["production"]
    china = main_row(production, country="CHN", stage="magnet", element="NdFeB", year=2024)
    world = main_row(production, country="WLD", stage="magnet", element="NdFeB", year=2024)
    assert china["value_t"] == 300_000 and china["quality"] == "reported"
    assert china["value_t"] / world["value_t"] == pytest.approx(0.90, abs=0.005)


def test_iea_magnet_rare_earth_demand_2023(dataset: Dataset) -> None:
    parameters = dataset["parameters"].set_index("parameter")
    assert parameters.loc["iea_magnet_ree_demand_2023", "value"] == 93_000


def test_india_magnet_scheme_is_6000_tonnes_a_year(dataset: Dataset) -> None:
    parameters = dataset["parameters"].set_index("parameter")
    assert parameters.loc["india_repm_scheme_capacity", "value"] == 6_000
    assert parameters.loc["india_repm_scheme_outlay", "value"] == 72_800_000_000  # Rs 7,280 crore


def test_china_april_2025_licensing_covers_the_seven_elements(dataset: Dataset) -> None:
    policies = dataset["policies"]
    # other rows describe how the April licensing worked in practice and share its start date
    april = policies[(policies["country"] == "CHN") & (policies["start"] == "2025-04-04")
                     & policies["measure"].str.contains("Announcement 18/2025", regex=False)]
    assert len(april) == 1
    elements = set(april.iloc[0]["elements"].split(";"))
    assert {"Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"} <= elements


def test_usgs_source_row_points_at_the_usgs_release(dataset: Dataset) -> None:
    source = dataset["sources"].set_index("source_id").loc[USGS_2025]
    assert "usgs" in source["url"].lower() and source["year"] == 2025
