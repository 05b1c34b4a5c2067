"""The market tables (sectors, demand units, magnet grades, monthly trade): consistency checks name
file, line, column and fix, and the bundled figures agree with each other and with their sources."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import raremap
from raremap.data.dataset import Dataset
from raremap.errors import ConsistencyError, Problem
from tests.helpers import copy_table, read_text_table, write_text_table

MAGNET_SECTORS = {"ev", "wind", "defence", "electronics", "industrial", "other"}
OXIDE_SECTORS = {"catalysts", "glass_polishing", "metallurgy", "phosphors", "ceramics", "other_applications"}
ELEMENTS = {"La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb", "Dy", "Y"}


def problems_of(directory: Path) -> list[Problem]:
    with pytest.raises(ConsistencyError) as caught:
        raremap.load(directory)
    return list(caught.value.problems)


def find(problems: list[Problem], **expected: object) -> Problem:
    for problem in problems:
        if all(getattr(problem, name) == value for name, value in expected.items()):
            return problem
    raise AssertionError(f"no problem with {expected} among:\n" + "\n".join(map(str, problems)))


# --- bad input ---------------------------------------------------------------------------------


def test_a_magnet_row_in_oxide_units_is_refused(tmp_path: Path) -> None:
    path = copy_table("demand", tmp_path)
    frame = read_text_table(path)
    line = frame.index[frame["element"] == "NdFeB"][0]
    frame.loc[line, "unit"] = "t REO"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="demand.csv", row=line + 2, column="unit")
    assert "t magnet" in problem.fix


def test_a_unit_the_schema_does_not_allow_is_refused(tmp_path: Path) -> None:
    path = copy_table("demand", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "unit"] = "kt"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="demand.csv", row=2, column="unit", value="kt")
    assert problem.fix


def test_a_sector_without_a_demand_curve_is_named(tmp_path: Path) -> None:
    path = copy_table("sectors", tmp_path)
    frame = read_text_table(path)
    write_text_table(frame[frame["sector"] != "phosphors"], path)
    problem = find(problems_of(tmp_path), file="demand.csv", column="sector", value="phosphors")
    assert "sectors.csv" in problem.fix


def test_a_flat_demand_curve_is_refused(tmp_path: Path) -> None:
    path = copy_table("sectors", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "elasticity"] = "0"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="sectors.csv", row=2, column="elasticity")
    assert "negative" in problem.fix


def test_a_positive_elasticity_is_refused_by_the_schema(tmp_path: Path) -> None:
    path = copy_table("sectors", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "elasticity"] = "0.3"
    write_text_table(frame, path)
    find(problems_of(tmp_path), file="sectors.csv", row=2, column="elasticity")


def test_a_grade_of_the_wrong_product_is_refused(tmp_path: Path) -> None:
    path = copy_table("magnet_grades", tmp_path)
    frame = read_text_table(path)
    line = frame.index[frame["product"] == "SmCo"][0]
    frame.loc[line, "product"] = "NdFeB"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="magnet_grades.csv", row=line + 2, column="product")
    assert "SmCo" in problem.fix


def test_magnet_demand_without_a_grade_mix_is_named(tmp_path: Path) -> None:
    path = copy_table("magnet_grades", tmp_path)
    frame = read_text_table(path)
    write_text_table(frame[frame["sector"] != "wind"], path)
    problem = find(problems_of(tmp_path), file="demand.csv", column="sector", value="wind")
    assert "magnet_grades.csv" in problem.fix


def test_partners_above_the_monthly_total_are_refused(tmp_path: Path) -> None:
    path = copy_table("trade_monthly", tmp_path)
    frame = read_text_table(path)
    line = frame.index[(frame["importer"] == "USA") & (frame["month"] == "2025-05") & (frame["months"] == "1")][0]
    frame.loc[line, "value_t"] = "5000"
    write_text_table(frame, path)
    problem = find(problems_of(tmp_path), file="trade_monthly.csv", column="value_t")
    assert "2025-05" in problem.message


def test_a_month_that_is_not_a_month_is_refused(tmp_path: Path) -> None:
    path = copy_table("trade_monthly", tmp_path)
    frame = read_text_table(path)
    frame.loc[0, "month"] = "2025-13"
    write_text_table(frame, path)
    find(problems_of(tmp_path), file="trade_monthly.csv", row=2, column="month", value="2025-13")


# --- the bundled data --------------------------------------------------------------------------


def test_every_fact_table_of_the_market_says_as_of_when(dataset: Dataset) -> None:
    for table in ("demand", "sectors", "magnet_grades", "recipes", "trade", "trade_monthly", "prices", "production"):
        assert dataset[table]["as_of"].notna().all(), table


def test_sectors_cover_magnet_uses_and_applications_with_defence_first(dataset: Dataset) -> None:
    sectors = dataset["sectors"].set_index("sector")
    assert set(sectors.index) == MAGNET_SECTORS | OXIDE_SECTORS
    assert sectors.loc["defence", "priority"] == sectors["priority"].min() == 1
    assert (sectors.loc[list(MAGNET_SECTORS), "kind"] == "magnet").all()
    assert (sectors.loc[list(OXIDE_SECTORS), "kind"] == "oxide").all()


def test_world_2024_demand_covers_every_element_and_application(dataset: Dataset) -> None:
    demand = dataset["demand"]
    world = demand[(demand["country"] == "WLD") & (demand["year"] == 2024) & (demand["path"] == "historical")]
    assert ELEMENTS - {"Dy", "Tb"} <= set(world.loc[world["unit"] == "t REO", "element"]) | {"Pr", "Nd"}
    assert set(world["sector"]) == MAGNET_SECTORS | OXIDE_SECTORS
    assert set(world.loc[world["unit"] == "t magnet", "element"]) == {"NdFeB", "SmCo"}


def test_world_magnet_rows_match_magnet_output_and_the_iea_figure(dataset: Dataset) -> None:
    """Magnet mass equals world NdFeB output; its rare-earth content is within 10 % of the IEA's 93 kt (2023) scaled to 2024."""
    demand = dataset["demand"]
    world = demand[(demand["country"] == "WLD") & (demand["year"] == 2024) & (demand["path"] == "historical")]
    ndfeb = world.loc[world["element"] == "NdFeB", "value_t"].sum()
    production = dataset["production"]
    output = production[
        (production["country"] == "WLD") & (production["stage"] == "magnet") & (production["year"] == 2024)
        & (production["series"] == "main")
    ]["value_t"].iloc[0]
    assert ndfeb == pytest.approx(output, rel=0.001)
    content = _rare_earth_metal(dataset, world[world["unit"] == "t magnet"])
    print(f"world 2024 magnet rare earths {content:,.0f} t metal against IEA 93 kt (2023) x {output:,.0f}/311,111")
    assert content == pytest.approx(93_000 * output / 311_111, rel=0.10)


def test_india_uses_6000_tonnes_of_magnets_in_2024_with_defence(dataset: Dataset) -> None:
    demand = dataset["demand"]
    india = demand[(demand["country"] == "IND") & (demand["year"] == 2024) & (demand["path"] == "historical")]
    assert set(india["unit"]) == {"t magnet"}
    assert india["value_t"].sum() == pytest.approx(6_000, rel=0.001)
    assert india.set_index("sector").loc["ev", "value_t"] == 690
    assert india.set_index("sector").loc["defence", "value_t"] > 0


def test_no_importer_takes_all_its_magnets_from_china(dataset: Dataset) -> None:
    trade = dataset["trade"]
    magnets = trade[(trade["stage"] == "magnet") & (trade["element"] == "NdFeB") & (trade["year"] == 2024)]
    for importer in ("IND", "USA", "JPN", "DEU", "KOR"):
        partners = magnets[magnets["importer"] == importer].set_index("exporter")["value_t"]
        assert partners.get("CHN", 0) < partners.sum(), importer


def test_china_monthly_magnet_exports_add_up_to_the_2025_total(dataset: Dataset) -> None:
    monthly = dataset["trade_monthly"]
    china = monthly[(monthly["exporter"] == "CHN") & (monthly["importer"] == "WLD")]
    months = china[(china["months"] == 1) & china["month"].str.startswith("2025")]
    year = china[(china["months"] == 12) & (china["month"] == "2025-01")]["value_t"].iloc[0]
    assert len(months) == 12
    assert year == 57_392
    assert months["value_t"].sum() == pytest.approx(year, abs=10)


def test_a_2024_reference_magnet_price_exists(dataset: Dataset) -> None:
    prices = dataset["prices"]
    magnet = prices[(prices["element"] == "NdFeB") & (prices["form"] == "magnet") & (prices["year"] == 2024)]
    assert len(magnet) == 1 and 30 < magnet["usd_per_kg"].iloc[0] < 80


def test_indias_separated_output_is_irels_not_its_mine_output(dataset: Dataset) -> None:
    production = dataset["production"]
    row = production[
        (production["country"] == "IND") & (production["stage"] == "separation") & (production["element"] == "REO")
        & (production["year"] == 2024) & (production["series"] == "main")
    ].iloc[0]
    assert row["value_t"] < 1_000 and "IREL" in row["method"]


def _rare_earth_metal(dataset: Dataset, magnets: pd.DataFrame) -> float:
    grades = dataset["magnet_grades"]
    recipes = dataset["recipes"]
    rare_earth = recipes[recipes["element"].isin(ELEMENTS)].groupby("magnet_type")["share"].sum()
    total = 0.0
    for row in magnets.itertuples():
        mix = grades[(grades["country"] == "WLD") & (grades["sector"] == row.sector) & (grades["product"] == row.element)]
        total += row.value_t * float((mix["share"] * mix["magnet_type"].map(rare_earth)).sum())
    return total
