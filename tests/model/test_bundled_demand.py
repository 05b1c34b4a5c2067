"""Demand on the bundled data: countries without their own projection follow the world path."""

from __future__ import annotations

import pandas as pd
import pytest

from raremap.data.dataset import Dataset
from raremap.model.bundled import _grow_with_world
from raremap.scenario import load_scenario
from raremap.simulate.run import supply_chain_for


def test_a_country_without_projection_keeps_its_share_of_the_world() -> None:
    demand = pd.DataFrame(
        {
            "country": ["WLD", "WLD", "JPN", "IND", "IND"],
            "sector": ["ev"] * 5,
            "period": [2024, 2030, 2024, 2024, 2030],
            "value_t": [100.0, 150.0, 10.0, 5.0, 20.0],
        }
    )
    grown = _grow_with_world(demand, projected={"IND"}, base_year=2024).set_index(["country", "period"])["value_t"]
    assert grown[("JPN", 2030)] == pytest.approx(15.0)  # 10 % of the world, as in 2024
    assert grown[("IND", 2030)] == pytest.approx(20.0)  # India keeps its own path


def test_bundled_demand_growth_is_not_dumped_on_the_remainder(dataset: Dataset) -> None:
    chain = supply_chain_for(dataset, load_scenario("baseline"))
    magnets = chain["demand"].sum("sector").sel(element="NdFeB")
    china = magnets.sel(country="CHN")
    assert float(china.sel(period=2035)) > 1.2 * float(china.sel(period=2024))
    growth = magnets.sel(period=2035) / magnets.sel(period=2024).where(magnets.sel(period=2024) > 0)
    assert float(growth.max()) < 5.0, "no country's magnet demand may multiply five-fold by 2035"
