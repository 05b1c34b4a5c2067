"""Tiny magnet-only networks where the planner's importer-centred reduction is exact."""

from __future__ import annotations

import numpy as np
import xarray as xr

from raremap.model.supply_chain import SupplyChain
from raremap.plan.inputs import baseline_for_chain, plan_inputs
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


def tiny_plan(**fields: object) -> Plan:
    document: dict[str, object] = {"name": "tiny", "horizon": {"start": PERIODS[0], "end": PERIODS[-1]},
                                   "partners_from_table": False, "caps": {"partner": 1.0, "bloc": 1.0}}
    document.update(fields)
    return Plan.model_validate(document)


def tiny_inputs(plan: Plan, chain: SupplyChain | None = None):  # type: ignore[no-untyped-def]
    baseline = baseline_for_chain(chain or tiny_chain(), "IND")
    return plan_inputs(plan, baseline), baseline
