"""Oxide applications buy each element as a buyer of its own; sector names still select them."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

import raremap
from raremap.errors import RaremapError
from raremap.model.bundled import lift_priorities
from raremap.model.demand import application, one_buyer_per_element
from raremap.scenario.spec import Scenario, Substitution
from raremap.simulate.apply import apply_scenario, pick
from raremap.simulate.run import supply_chain_for

SECTORS = pd.DataFrame({
    "sector": ["ev", "glass_polishing"], "kind": ["magnet", "oxide"], "value_multiple": [5.0, 1.5],
    "elasticity": [-0.05, -0.3], "priority": [2, 5], "substitution_cost_multiple": [3.0, 1.5], "substitution_rate": [0.1, 0.1],
})


def goods(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"country": "IND", "sector": sector, "element": element, "period": 2024.0, "value_t": value}
                         for sector, element, value in rows])


def test_an_oxide_application_becomes_one_buyer_per_element_with_its_curve() -> None:
    split, sectors = one_buyer_per_element(
        goods(("glass_polishing", "Ce", 90.0), ("glass_polishing", "La", 10.0), ("ev", "NdFeB N42 standard", 50.0)), SECTORS)
    assert sorted(split["sector"]) == ["ev", "glass_polishing/Ce", "glass_polishing/La"]
    assert split.loc[split["sector"] == "glass_polishing/Ce", "value_t"].item() == 90.0
    table = sectors.set_index("sector")
    assert sorted(table.index) == ["ev", "glass_polishing/Ce", "glass_polishing/La"]
    assert table.loc["glass_polishing/La", "elasticity"] == -0.3 and table.loc["glass_polishing/La", "value_multiple"] == 1.5
    assert application("glass_polishing/La") == "glass_polishing" and application("ev") == "ev"


def test_a_sector_name_with_the_buyer_separator_is_refused_with_the_fix() -> None:
    bad = SECTORS.assign(sector=["ev", "glass/polishing"])
    with pytest.raises(RaremapError, match=r"sectors.csv, column sector: glass/polishing .*rename the sector"):
        one_buyer_per_element(goods(("glass/polishing", "Ce", 1.0)), bad)


def test_defence_is_lifted_above_the_magnet_buyers_not_above_a_kilogram_of_terbium_oxide() -> None:
    sectors = ["defence", "ev", "phosphors/Tb"]
    value = xr.DataArray([[[40.0]], [[200.0]], [[982.0]]], coords={"sector": sectors, "country": ["IND"], "step": [0]},
                         dims=("sector", "country", "step"))
    lifted = lift_priorities(value, pd.Series([1, 2, 4], index=sectors), pd.Series(["magnet", "magnet", "oxide"], index=sectors))
    assert float(lifted.sel(sector="defence").item()) == 240.0
    assert float(lifted.sel(sector="phosphors/Tb").item()) == 982.0


def test_a_scenario_naming_a_sector_reaches_every_buyer_of_it(dataset: raremap.Dataset) -> None:
    scenario = Scenario(name="glass", substitution=(Substitution(sector="glass_polishing", rate_per_year=0.5),))
    chain = supply_chain_for(dataset, scenario)
    glass = [sector for sector in chain.sectors if application(sector) == "glass_polishing"]
    assert len(glass) > 1 and all(sector.startswith("glass_polishing/") for sector in glass)
    chosen = pick(chain, "sector", ["glass_polishing"])
    assert sorted(str(sector) for sector in chosen["sector"].values[chosen.values]) == sorted(glass)
    rate = apply_scenario(chain, scenario)["substitution_rate"]
    assert float(rate.sel(sector=glass).min()) == 0.5
    others = [sector for sector in chain.sectors if sector not in glass]
    assert float(rate.sel(sector=others).max()) < 0.5
