"""A tiny network whose optimum can be worked out by hand.

MIN mines REO that is 20 % Nd and 80 % Ce. SEP separates it, makes metal (0.5 t metal per t
oxide) and magnets (0.2 t Nd per t magnet). ALT makes magnets from metal it buys. USR buys
magnets: 10 t per period. So 10 t of magnets need 2 t Nd metal, 4 t Nd oxide, 20 t REO mined,
and leave 16 t of Ce as co-product surplus.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from raremap.model.supply_chain import SupplyChain
from raremap.scenario.spec import Scenario
from raremap.simulate.run import Result, Simulation
from raremap.vocabulary import STAGES

COUNTRIES = ["ALT", "MIN", "SEP", "USR"]
ELEMENTS = ["Ce", "Nd", "NdFeB"]
PERIODS = [2024, 2025, 2026]


def capacity(**by_stage_country: float) -> xr.DataArray:
    """Capacity per stage x country, e.g. capacity(mining_MIN=100)."""
    array = xr.DataArray(0.0, coords={"stage": list(STAGES), "country": COUNTRIES}, dims=("stage", "country")).copy()
    for key, value in by_stage_country.items():
        stage, country = key.rsplit("_", 1)
        array.loc[stage, country] = value
    return array


def tiny_chain(
    mining: float = 100.0,
    magnet_sep: float = 100.0,
    magnet_alt: float = 0.0,
    demand: float = 10.0,
    sectors: tuple[str, ...] = ("ev",),
    **arrays: Any,
) -> SupplyChain:
    """The tiny network, with capacities and any SupplyChain array overridden."""
    demand_array = xr.DataArray(
        [[[demand]] for _ in sectors],
        coords={"sector": list(sectors), "country": ["USR"], "element": ["NdFeB"]},
        dims=("sector", "country", "element"),
    )
    arrays.setdefault("demand", demand_array)
    return SupplyChain.from_arrays(
        countries=COUNTRIES,
        elements=ELEMENTS,
        sectors=list(sectors),
        periods=PERIODS,
        capacity=arrays.pop(
            "capacity",
            capacity(
                mining_MIN=mining, separation_SEP=1000, metal_SEP=1000, magnet_SEP=magnet_sep, magnet_ALT=magnet_alt
            ),
        ),
        composition=xr.DataArray([[0.8, 0.2, 0.0]], coords={"country": ["MIN"], "element": ELEMENTS}, dims=("country", "element")),
        metal_factor=xr.DataArray([0.5], coords={"element": ["Nd"]}, dims="element"),
        magnet_recipe=xr.DataArray([0.2], coords={"element": ["Nd"]}, dims="element"),
        willingness_to_pay=arrays.pop("willingness_to_pay", 100.0),
        operating_cost=1.0,
        transport_cost=0.1,
        **arrays,
    )


def run(chain: SupplyChain, **scenario: Any) -> Result:
    """Solve the chain under a scenario given as keyword arguments of Scenario."""
    return Simulation(Scenario(name="tiny", **scenario), supply_chain=chain).run()


def shortfall(result: Result, period: int | None = None, sector: str | None = None) -> float:
    """USR's shortfall in tonnes (one period, or all), optionally for one sector."""
    table = result.shortfall
    table = table[table["country"] == "USR"]
    if period is not None:
        table = table[table["period"] == period]
    if sector is not None:
        table = table[table["sector"] == sector]
    return float(table["tonnes"].sum())
