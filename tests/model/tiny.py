"""A tiny market whose optimum can be worked out by hand.

MIN mines REO that is 20 % Nd and 80 % Ce. SEP separates it, makes Nd metal (0.5 t metal per t
oxide) and magnets "NdFeB" (0.2 t Nd metal per t magnet). ALT makes magnets from metal it buys. USR
buys magnets for its `ev` sector (10 t a year by default) and Ce oxide for its `glass` sector (none
by default). So 10 t of magnets need 2 t Nd metal, 4 t Nd oxide and 20 t REO mined, and leave 16 t
of Ce as co-product.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from raremap.model.periods import PeriodGrid
from raremap.model.supply_chain import SupplyChain
from raremap.scenario.spec import Scenario
from raremap.simulate.run import Result, Simulation
from raremap.vocabulary import STAGES

COUNTRIES = ["ALT", "MIN", "SEP", "USR"]
ELEMENTS = ["Ce", "Nd"]
PRODUCTS = ["NdFeB"]
GOODS = [*ELEMENTS, *PRODUCTS]
SECTORS = ["ev", "glass"]
PERIODS = [2024, 2025, 2026, 2027]


def array(values: dict[str, float], dimension: str) -> xr.DataArray:
    return xr.DataArray(list(values.values()), coords={dimension: list(values)}, dims=dimension)


def capacity(**by_stage_country: float) -> xr.DataArray:
    """Capacity per stage x country, e.g. capacity(mining_MIN=100)."""
    result = xr.DataArray(0.0, coords={"stage": list(STAGES), "country": COUNTRIES}, dims=("stage", "country")).copy()
    for key, value in by_stage_country.items():
        stage, country = key.rsplit("_", 1)
        result.loc[stage, country] = value
    return result


def demand(ev: float = 10.0, glass: float = 0.0, country: str = "USR") -> xr.DataArray:
    """t per year per sector of one buyer."""
    values = xr.DataArray(0.0, coords={"country": COUNTRIES, "sector": SECTORS}, dims=("country", "sector")).copy()
    values.loc[country, "ev"] = ev
    values.loc[country, "glass"] = glass
    return values


def bundle() -> xr.DataArray:
    """ev buys magnets, glass buys Ce oxide (one unit of the good per unit of demand)."""
    values = xr.DataArray(0.0, coords={"sector": SECTORS, "element": GOODS}, dims=("sector", "element")).copy()
    values.loc["ev", "NdFeB"] = 1.0
    values.loc["glass", "Ce"] = 1.0
    return values


def tiny_chain(periods: list[int] | PeriodGrid = PERIODS, **arrays: Any) -> SupplyChain:
    """The tiny market; any SupplyChain array may be overridden."""
    arrays.setdefault("capacity", capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100))
    arrays.setdefault("demand", demand())
    arrays.setdefault("willingness_to_pay", 100.0)
    return SupplyChain.from_arrays(
        countries=COUNTRIES,
        elements=ELEMENTS,
        products=PRODUCTS,
        sectors=SECTORS,
        periods=periods,
        composition=xr.DataArray([[0.8, 0.2]], coords={"country": ["MIN"], "element": ELEMENTS}, dims=("country", "element")),
        metal_factor=array({"Ce": 0.8, "Nd": 0.5}, "element"),
        recipe=arrays.pop("recipe", xr.DataArray([[0.0, 0.2]], coords={"element": PRODUCTS, "ingredient": ELEMENTS},
                                                 dims=("element", "ingredient"))),
        bundle=arrays.pop("bundle", bundle()),
        operating_cost=arrays.pop("operating_cost", 1.0),
        transport_cost=arrays.pop("transport_cost", 0.1),
        **arrays,
    )


def run(chain: SupplyChain, **scenario: Any) -> Result:
    """Solve the chain under a scenario given as keyword arguments of Scenario."""
    scenario.setdefault("importer", "USR")
    return Simulation(Scenario(name="tiny", **scenario), supply_chain=chain).run()


def shortfall(result: Result, period: str | None = None, sector: str = "ev", country: str = "USR") -> float:
    """A buyer's shortfall in tonnes (one period, or all) for one sector."""
    table = result.shortfall
    table = table[(table["country"] == country) & (table["sector"] == sector)]
    if period is not None:
        table = table[table["period"] == period]
    return float(table["tonnes"].sum())


def value(result: Result, table: str, column: str = "value_t", **where: Any) -> float:
    """The sum of a result column over the rows matching `where`."""
    frame = getattr(result, table)
    for key, wanted in where.items():
        frame = frame[frame[key] == wanted]
    return float(frame[column].sum())
