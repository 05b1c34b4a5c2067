"""Tiny magnet-only networks where the planner's importer-centred reduction is exact."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import xarray as xr

from raremap.model.supply_chain import SupplyChain
from raremap.plan.inputs import Baseline, PlanInputs, baseline_for_chain, plan_inputs
from raremap.plan.spec import Plan

PERIODS = [2026, 2027]


def tiny_chain(china: float = 80.0, australia: float = 50.0, india: float = 0.0, demand: float = 100.0) -> SupplyChain:
    """IND buys magnets from CHN and AUS (and makes some); magnets need no modelled input."""
    countries = ["AUS", "CHN", "IND"]
    capacity = xr.DataArray(
        np.array([[0, 0, 0], [0, 0, 0], [0, 0, 0], [australia, china, india]], dtype=float),
        dims=("stage", "country"), coords={"stage": ["mining", "separation", "metal", "magnet"], "country": countries})
    demand_array = xr.DataArray([[[demand]]], dims=("country", "sector", "element"),
                                coords={"country": ["IND"], "sector": ["ev"], "element": ["NdFeB"]})
    value = xr.DataArray([300.0, 200.0, 120.0], dims="step")
    return SupplyChain.from_arrays(
        countries=countries, elements=["NdFeB"], sectors=["ev"], periods=PERIODS, capacity=capacity,
        demand=demand_array, willingness_to_pay=value, operating_cost=18.9, transport_cost=1.0,
    )


@lru_cache(maxsize=8)
def tiny_baseline(china: float = 80.0, australia: float = 50.0, india: float = 0.0, demand: float = 100.0) -> Baseline:
    """The solved baseline of a tiny chain, solved once per set of capacities (the simulator takes ~1 s)."""
    return baseline_for_chain(tiny_chain(china, australia, india, demand), "IND")


def tiny_plan(**fields: object) -> Plan:
    document: dict[str, object] = {"name": "tiny", "horizon": {"start": PERIODS[0], "end": PERIODS[-1]},
                                   "partners_from_table": False, "caps": {"partner": 1.0, "bloc": 1.0}}
    document.update(fields)
    return Plan.model_validate(document)


def tiny_inputs(plan: Plan, **chain_arguments: float) -> tuple[PlanInputs, Baseline]:
    """The plan resolved against the (cached) baseline of the tiny chain with these capacities."""
    baseline = tiny_baseline(**chain_arguments)
    return plan_inputs(plan, baseline), baseline
