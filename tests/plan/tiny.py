"""A tiny world for the planner, small enough to solve in a second and to check by hand.

CHN mines REO (80 % Ce, 20 % Nd), separates it, makes Nd metal and NdFeB magnets; AUS mines and
separates; JPN makes magnets from metal it buys; IND mines a little and makes nothing else. IND
(20 t a year) and USA (200 t a year) buy magnets for their EV makers, so IND is a small buyer, as
in the bundled data: the world's prices are set by others. A tonne of magnet holds 0.2 t of Nd
metal, which is 0.4 t of Nd oxide (0.5 t metal per t oxide), from 2 t of REO. Periods 2024 (the
base year) to 2028; the plan's horizon is 2025-2028.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import xarray as xr

from raremap.model.supply_chain import SupplyChain
from raremap.plan.market import importer_side
from raremap.plan.options import resolve_options
from raremap.plan.planner import Context, MarketViews, market_views, with_plan_routes
from raremap.plan.scenarios import Draw
from raremap.plan.spec import Plan
from raremap.scenario.spec import Disruption, ExportControl, Recycling, Scenario
from raremap.vocabulary import STAGES

COUNTRIES = ["AUS", "CHN", "IND", "JPN", "USA"]
ELEMENTS = ["Ce", "Nd"]
PRODUCTS = ["NdFeB"]
PERIODS = [2024, 2025, 2026, 2027, 2028]
HORIZON = {"start": 2025, "end": 2028}
INDIA_DEMAND = 20.0
USA_DEMAND = 200.0
VALUES = {"IND": (300.0, 150.0, 80.0), "USA": (310.0, 160.0, 90.0)}
"""Willingness to pay of the three demand slices (60 %, 30 %, 10 % of demand), USD per kg of magnet; the
buyers value their slices differently, so no price leaves two of them indifferent (the split of a tie
between buyers is the solver's choice, in the simulator and in the planner alike)."""


def capacity(**changes: float) -> xr.DataArray:
    """t/yr per stage x country; keyword `magnet_IND=5` changes one entry."""
    values = {"mining_CHN": 600.0, "separation_CHN": 1000.0, "metal_CHN": 200.0, "magnet_CHN": 250.0,
              "mining_AUS": 100.0, "separation_AUS": 100.0, "magnet_JPN": 40.0, "mining_IND": 10.0, **changes}
    result = xr.DataArray(0.0, coords={"stage": list(STAGES), "country": COUNTRIES}, dims=("stage", "country")).copy()
    for key, value in values.items():
        stage, country = key.rsplit("_", 1)
        result.loc[stage, country] = value
    return result


def tiny_world(**changes: Any) -> SupplyChain:
    """The tiny world (any SupplyChain array may be given instead)."""
    demand = xr.DataArray([[INDIA_DEMAND], [USA_DEMAND]], coords={"country": ["IND", "USA"], "sector": ["ev"]},
                          dims=("country", "sector"))
    bundle = xr.DataArray([[0.0, 0.0, 1.0]], coords={"sector": ["ev"], "element": [*ELEMENTS, *PRODUCTS]},
                          dims=("sector", "element"))
    arrays: dict[str, Any] = {
        "capacity": capacity(), "demand": demand, "bundle": bundle,
        "willingness_to_pay": xr.DataArray([[list(VALUES["IND"])], [list(VALUES["USA"])]],
                                           coords={"country": ["IND", "USA"], "sector": ["ev"]},
                                           dims=("country", "sector", "step")),
        "composition": xr.DataArray([[0.8, 0.2]] * 3, coords={"country": ["AUS", "CHN", "IND"], "element": ELEMENTS},
                                    dims=("country", "element")),
        "metal_factor": xr.DataArray([0.8, 0.5], coords={"element": ELEMENTS}, dims="element"),
        "recipe": xr.DataArray([[0.0, 0.2]], coords={"element": PRODUCTS, "ingredient": ELEMENTS},
                               dims=("element", "ingredient")),
        "operating_cost": 1.0, "transport_cost": 0.1,
        "reference_price": xr.DataArray([1.0, 20.0, 50.0], coords={"element": [*ELEMENTS, *PRODUCTS]}, dims="element"),
        "contract_breach_cost": xr.DataArray([1.0, 20.0, 50.0], coords={"element": [*ELEMENTS, *PRODUCTS]}, dims="element"),
        "stock_holding_cost": xr.DataArray([0.0, 0.0, 2.5], coords={"element": [*ELEMENTS, *PRODUCTS]}, dims="element"),
    }
    arrays.update(changes)
    return SupplyChain.from_arrays(countries=COUNTRIES, elements=ELEMENTS, products=PRODUCTS, sectors=["ev"],
                                   periods=PERIODS, step_shares=(0.6, 0.3, 0.1), **arrays)


def tiny_plan(**fields: Any) -> Plan:
    document: dict[str, Any] = {"name": "tiny", "importer": "IND", "horizon": HORIZON, "partners_from_table": False,
                                "risk": {"lambda": 0.0, "alpha": 0.5}, "caps": {"partner": 1.0, "bloc": 1.0},
                                "budget_usd_million": 100.0, "scenarios": {"risk_file": "default"}}
    document.update(fields)
    return Plan.model_validate(document)


def draw(name: str, *, disruptions: tuple[Disruption, ...] = (), controls: tuple[ExportControl, ...] = (),
         slips: dict[str, int] | None = None, recycling: tuple[Recycling, ...] = ()) -> Draw:
    scenario = Scenario(name="tiny", importer="IND", periods={"start": PERIODS[0], "end": PERIODS[-1]},  # type: ignore[arg-type]
                        disruptions=disruptions, export_controls=controls, recycling=recycling)
    return Draw(name, scenario, 1.0, slips or {})


def lost(country: str, stage: str, share: float, year: int) -> Disruption:
    return Disruption(country=country, stage=stage, share_lost=share, start=year)  # type: ignore[arg-type]


def cut(share_allowed: float, first: int, last: int, stages: tuple[str, ...] = ("magnet",),
        destinations: tuple[str, ...] = ("IND",)) -> ExportControl:
    """CHN lets through `share_allowed` of what each destination would have bought, in years first..last."""
    return ExportControl(exporter="CHN", stages=stages, destinations=destinations,  # type: ignore[arg-type]
                         start=datetime.date(first, 1, 1), end=datetime.date(last + 1, 1, 1), form="approval_share",
                         approval_share=share_allowed)


def tiny_context(plan: Plan, draws: list[Draw], dataset: Any, chain: SupplyChain | None = None) -> Context:
    """The plan on the tiny world: options resolved, every draw's market solved by the full engine."""
    world = with_plan_routes(chain if chain is not None else tiny_world(), plan)
    options = resolve_options(plan, dataset, world, set())
    views = market_views(world, draws, plan.importer, plan.horizon.start, lambda fraction, message: None, (0.0, 1.0))
    return Context(plan, world, options, views)


def weights(views: MarketViews) -> np.ndarray:
    return np.asarray(views.weight().values)


__all__ = ["capacity", "cut", "draw", "importer_side", "lost", "tiny_context", "tiny_plan", "tiny_world", "weights"]
