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
from raremap.model.solution import solver_positions
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
    base_year = BaseYear(SupplyChain(chain.data.isel(period=[0])))
    least = base_year.least_calibration()
    if float(least.sum()) == 0.0:
        return chain
    cost = calibration_costs(chain, costs)
    base_year.price_for_clearing(cost)
    return chain.replace(calibration_supply=least * base_year.smallest_scale(least), calibration_cost=cost)


class BaseYear:
    """The base-year LP in HiGHS, built once with linopy and re-solved with changed costs and bounds.

    First the sizing solve: unlimited calibration at a prohibitive cost, against raised willingness
    to pay, gives the least calibration tonnage. Then, at the model's own costs, each trial of the
    bisection bounds the calibration by that tonnage times a scale and solves from a cleared solver,
    so a trial's answer does not depend on the trials before it.
    """

    def __init__(self, base: SupplyChain):
        self.base = base
        unlimited = xr.where(base.data["country"] == CALIBRATION_COUNTRY, 1e7, 0.0) * xr.ones_like(base["calibration_cost"])
        sizing = base.replace(
            calibration_supply=unlimited.transpose("country", "element"),
            calibration_cost=xr.full_like(base["calibration_cost"], CALIBRATION_SIZING_COST),
            willingness_to_pay=base["willingness_to_pay"] * CALIBRATION_SIZING_VALUE_MULTIPLE,
        )
        model = build_model(sizing)
        if bool((model.variables["Substitution-share"].labels >= 0).any()):
            # Its cost depends on willingness to pay, which `price_for_clearing` does not reprice.
            raise RaremapError("calibration needs a base chain without substitution (substitution is a scenario setting)")
        positions = model.variables.label_index.label_to_pos
        self.calibration = model.variables["Calibration-supply"].labels.isel(period=0, drop=True)
        self.calibration_columns = solver_positions(positions, self.calibration.values)
        self.served = model.variables["Served"].labels
        self.served_columns = solver_positions(positions, self.served.values)
        demand = base["demand"].transpose(*self.served.dims[:-2], "period")
        self.demand = np.asarray(demand.values, dtype=float) * base.period_length
        with quiet_stdout():
            self.solver: Any = model.to_highspy()
        self.solver.setOptionValue("output_flag", False)

    def _solve(self) -> np.ndarray:
        """Solve from a cleared solver; the column values, with a 0 appended that position -1 reads."""
        self.solver.clearSolver()
        self.solver.run()
        if self.solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RaremapError("calibration failed: the base-year model has no optimum; check the demand and capacity data")
        return np.append(np.asarray(self.solver.getSolution().col_value), 0.0)

    def least_calibration(self) -> xr.DataArray:
        """The sizing solve's calibration, in tonnes per year (country, element)."""
        solved = xr.DataArray(self._solve()[self.calibration_columns], coords=self.calibration.coords)
        return (xr.where(solved > 1e-6, solved, 0.0) / self.base.period_length).transpose("country", "element")

    def price_for_clearing(self, cost: xr.DataArray) -> None:
        """Back to the model's own prices: calibration at `cost`, demand at its willingness to pay."""
        self._set(self.solver.changeColsCost, self.calibration_columns, cost.broadcast_like(self.calibration))
        value = -self.base["willingness_to_pay"].broadcast_like(self.served)
        self._set(self.solver.changeColsCost, self.served_columns, value.transpose(*self.served.dims))

    def clears(self, least: xr.DataArray, scale: float) -> bool:
        """Whether the base year serves all demand with the calibration supply `least` times `scale`."""
        upper = (least * self.base.period_length * scale).transpose(*self.calibration.dims)
        self._set(self.solver.changeColsBounds, self.calibration_columns, xr.zeros_like(upper), upper)
        served = self._solve()[self.served_columns].sum(axis=-2)  # over the steps
        return float((self.demand - served).max()) <= CALIBRATION_TOLERANCE_T

    @staticmethod
    def _set(change: Any, columns: np.ndarray, *values: xr.DataArray) -> None:
        """Call a HiGHS column setter on the columns that exist, with the matching entries of `values`."""
        present = columns >= 0
        change(int(present.sum()), columns[present].astype(np.int32), *(np.asarray(v.values, dtype=float)[present] for v in values))

    def smallest_scale(self, least: xr.DataArray) -> float:
        """The smallest factor (to 2 %) at which the base year clears: the least tonnage makes it
        feasible, but at the model's own costs some of it may be uneconomic to deliver."""
        low, high = 1.0, 1.0
        while not self.clears(least, high):
            low, high = high, high * 1.5
            if high > LARGEST_SCALE:
                raise RaremapError("calibration failed: the base year cannot be cleared; check the demand and capacity data")
        while high - low > SCALE_PRECISION and low != high:
            middle = (low + high) / 2
            low, high = (low, middle) if self.clears(least, middle) else (middle, high)
        return high
