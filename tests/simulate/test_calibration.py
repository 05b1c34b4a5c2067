"""Base-year calibration, the NdPr pool and who bears a shortage, on the bundled data and a tiny network."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

from raremap.model.bundled import BuildOptions, supply_chain_from_dataset
from raremap.scenario import override
from raremap.scenario.loading import load_scenario
from raremap.simulate import Result, simulate
from tests.model.tiny import COUNTRIES, PERIODS, capacity, run

SHOCKS = {
    "china-ban-to-india": {"export_controls": [
        {"exporter": "CHN", "stages": ["separation", "metal", "magnet"], "destinations": ["IND"],
         "start": 2025, "form": "ban"}]},
    "monazite-export-ban": None,
    "myanmar-clay-shutdown": None,
}


@pytest.fixture(scope="module")
def baseline(dataset: object) -> Result:
    return simulate(dataset, "baseline")


def india_by_period(result: Result) -> pd.Series:
    table = result.shortfall
    return table[table["country"] == "IND"].groupby("period")["tonnes"].sum().reindex(result.periods, fill_value=0.0)


def test_baseline_has_no_shortfall_in_the_base_year_and_reports_its_calibration(baseline: Result) -> None:
    first = baseline.shortfall[baseline.shortfall["period"] == 2024]
    assert float(first["tonnes"].max()) == 0.0
    calibration = baseline.calibration
    assert set(calibration["country"]) == {"CHN"}
    assert calibration.groupby("element")["value_t"].max().gt(0).all()


def test_calibration_can_be_switched_off(dataset: object) -> None:
    options = BuildOptions(periods=(2024, 2025), calibration=False)
    assert float(supply_chain_from_dataset(dataset, options)["calibration_supply"].sum()) == 0.0
    assert load_scenario("baseline").settings.calibration is True


@pytest.mark.parametrize("name", sorted(SHOCKS))
def test_shocks_never_lower_india_shortfall_in_any_period(dataset: object, baseline: Result, name: str) -> None:
    changes = SHOCKS[name]
    scenario = load_scenario(name) if changes is None else override(load_scenario("baseline"), {"name": name, **changes})
    shocked = india_by_period(simulate(dataset, scenario))
    assert (shocked >= india_by_period(baseline) - 1e-6).all()


def test_ndpr_pool_lets_neodymium_stand_in_for_praseodymium() -> None:
    elements = ["Nd", "Pr", "NdFeB"]
    common = dict(
        countries=COUNTRIES, elements=elements, sectors=["ev"], periods=PERIODS,
        capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100),
        composition=xr.DataArray([[1.0, 0.0, 0.0]], coords={"country": ["MIN"], "element": elements}, dims=("country", "element")),
        metal_factor=1.0,
        magnet_recipe=xr.DataArray([0.15, 0.05], coords={"element": ["Nd", "Pr"]}, dims="element"),
        demand=xr.DataArray([[[10.0]]], coords={"country": ["USR"], "sector": ["ev"], "element": ["NdFeB"]},
                            dims=("country", "sector", "element")),
        willingness_to_pay=100.0, operating_cost=1.0, transport_cost=0.1,
    )
    from raremap.model.supply_chain import SupplyChain

    fixed = SupplyChain.from_arrays(**common)  # type: ignore[arg-type]
    pooled = SupplyChain.from_arrays(
        **common,  # type: ignore[arg-type]
        magnet_pool=xr.DataArray([1.0, 1.0], coords={"element": ["Nd", "Pr"]}, dims="element"),
        magnet_recipe_min=xr.DataArray([0.15, 0.0], coords={"element": ["Nd", "Pr"]}, dims="element"),
    )
    assert float(run(fixed).shortfall.query("period == 2024")["tonnes"].sum()) == pytest.approx(10.0)
    result = run(pooled)
    assert float(result.shortfall.query("period == 2024")["tonnes"].sum()) == pytest.approx(0.0, abs=1e-6)
    metal = result.production.query("stage == 'metal' and period == 2024").set_index("element")["value_t"]
    assert metal["Nd"] == pytest.approx(2.0)
