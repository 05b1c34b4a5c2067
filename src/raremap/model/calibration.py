"""Calibration: the undocumented supply that lets the base year of the bundled data clear.

USGS's China mine figures are production quotas that exclude undocumented output, so documented
supply alone cannot serve documented base-year demand. A sizing solve of the base year finds the
least oxide (and magnets) the calibration country must add; a bisection then scales that tonnage
by the smallest factor (to 2 %) at which the base year clears at the model's own costs. The
tonnage is offered in every period, constant, and reported as calibration supply.
"""

from __future__ import annotations

from typing import Any

import highspy
import numpy as np
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.equilibrium import build_model
from raremap.model.quiet import quiet_stdout
from raremap.model.solution import read_solution, solve_model, solver_positions
from raremap.model.supply_chain import MAGNET, SupplyChain

CALIBRATION_COUNTRY = "CHN"
"""Where the calibration supply sits: USGS's China mine figures are production quotas that exclude
undocumented output (and China's separation and magnet figures are estimates)."""
CALIBRATION_SIZING_COST = 1000.0
"""USD/kg of calibration in the sizing solve: far above any documented path, so it is a last resort."""
CALIBRATION_SIZING_VALUE_MULTIPLE = 100.0
"""The sizing solve multiplies willingness to pay by this, so all demand is served where possible."""
CALIBRATION_TOLERANCE_T = 1e-3
"""Tonnes of base-year shortfall per entry below which the base year counts as cleared."""
SCALE_PRECISION = 0.02
LARGEST_SCALE = 20.0


def calibration_costs(chain: SupplyChain, costs: xr.DataArray) -> xr.DataArray:
    """USD/kg of calibration supply: oxide at the country's mining + separation cost per t REO; magnets
    at its magnet cost plus the recipe's metal at metal + mining + separation cost."""
    country_costs = costs.sel(country=CALIBRATION_COUNTRY) if CALIBRATION_COUNTRY in chain.countries else costs.mean("country")
    oxide = float(country_costs.sel(stage="mining") + country_costs.sel(stage="separation"))
    content = float(chain["magnet_recipe"].sum())
    magnet = float(country_costs.sel(stage="magnet")) + content * (oxide + float(country_costs.sel(stage="metal")))
    return xr.DataArray(
        [magnet if element == MAGNET else oxide for element in chain.elements],
        coords={"element": chain.elements},
        dims="element",
    )


def calibrated(chain: SupplyChain, costs: xr.DataArray) -> SupplyChain:
    """The chain with the calibration supply that lets the base year serve its demand in full."""
    if CALIBRATION_COUNTRY not in chain.countries:
        return chain
    base = SupplyChain(chain.data.isel(period=[0]))
    least = _least_calibration(base) / chain.period_length
    if float(least.sum()) == 0.0:
        return chain
    cost = calibration_costs(chain, costs)
    clearing = BaseYearClearing(base.replace(calibration_supply=least, calibration_cost=cost))
    return chain.replace(calibration_supply=least * clearing.smallest_scale(), calibration_cost=cost)


def _least_calibration(base: SupplyChain) -> xr.DataArray:
    """The sizing solve: unlimited calibration at a prohibitive cost, against raised willingness to pay."""
    unlimited = xr.where(base.data["country"] == CALIBRATION_COUNTRY, 1e7, 0.0) * xr.ones_like(base["calibration_cost"])
    sizing = base.replace(
        calibration_supply=unlimited.transpose("country", "element"),
        calibration_cost=xr.full_like(base["calibration_cost"], CALIBRATION_SIZING_COST),
        willingness_to_pay=base["willingness_to_pay"] * CALIBRATION_SIZING_VALUE_MULTIPLE,
    )
    model = build_model(sizing)
    with quiet_stdout():
        solve_model(model)
    least = read_solution(model).values["Calibration-supply"].isel(period=0, drop=True)
    return xr.where(least > 1e-6, least, 0.0).transpose("country", "element")


class BaseYearClearing:
    """The base-year LP in HiGHS, re-solved with the calibration supply scaled.

    Built once with linopy; each trial only changes the calibration columns' upper bounds and
    solves from a cleared solver, so a trial's answer does not depend on the trials before it.
    """

    def __init__(self, trial: SupplyChain):
        model = build_model(trial)
        positions = model.variables.label_index.label_to_pos
        calibration = model.variables["Calibration-supply"]
        present = calibration.labels.values >= 0
        self.calibration_columns = positions[calibration.labels.values[present]].astype(np.int32)
        self.calibration_upper = np.asarray(calibration.upper.values[present], dtype=float)
        served = model.variables["Served"].labels.isel(period=0).transpose("country", "sector", "element", "step")
        self.served_columns = solver_positions(positions, served.values)
        demand = trial["demand"].isel(period=0).transpose("country", "sector", "element")
        self.demand = np.asarray(demand.values, dtype=float) * trial.period_length
        with quiet_stdout():
            self.solver: Any = model.to_highspy()
        self.solver.setOptionValue("output_flag", False)

    def clears(self, scale: float) -> bool:
        """Whether the base year serves all demand with the calibration supply times `scale`."""
        solver = self.solver
        count = len(self.calibration_columns)
        solver.changeColsBounds(count, self.calibration_columns, np.zeros(count), self.calibration_upper * scale)
        solver.clearSolver()
        solver.run()
        if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RaremapError("calibration failed: the base-year model has no optimum; check the demand and capacity data")
        values = np.append(np.asarray(solver.getSolution().col_value), 0.0)  # position -1 reads the 0 appended
        served = values[self.served_columns].sum(axis=-1)
        return float((self.demand - served).max()) <= CALIBRATION_TOLERANCE_T

    def smallest_scale(self) -> float:
        """The smallest factor (to 2 %) at which the base year clears: the least tonnage makes it
        feasible, but at the model's own costs some of it may be uneconomic to deliver."""
        low, high = 1.0, 1.0
        while not self.clears(high):
            low, high = high, high * 1.5
            if high > LARGEST_SCALE:
                raise RaremapError("calibration failed: the base year cannot be cleared; check the demand and capacity data")
        while high - low > SCALE_PRECISION and low != high:
            middle = (low + high) / 2
            low, high = (low, middle) if self.clears(middle) else (middle, high)
        return high
