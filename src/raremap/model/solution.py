"""Solving the equilibrium LP, reading its values back, and checking conservation of mass.

The mass balance is recomputed here from the solution values with plain xarray arithmetic, not
from linopy's constraint objects, so a wrongly written constraint cannot hide its own error.
"""

from __future__ import annotations

from dataclasses import dataclass

import linopy
import numpy as np
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.equilibrium import BALANCE_CONSTRAINTS
from raremap.model.supply_chain import MAGNET, SupplyChain
from raremap.vocabulary import TRADED_STAGES

MASS_BALANCE_RELATIVE_TOLERANCE = 1e-6
"""Largest residual allowed, as a share of max(1, total tonnes moved or made in the run)."""


class MassBalanceError(RaremapError):
    """A solution that creates or destroys material: a bug in the model, never in the input."""


@dataclass(frozen=True)
class Solution:
    """The values of every variable (zero where an entry does not exist) and the balance duals."""

    values: dict[str, xr.DataArray]
    duals: dict[str, xr.DataArray]
    objective: float

    def for_periods(self, periods: list[int], objective: float) -> Solution:
        """The part of the solution in `periods`, whose share of the objective is `objective`."""
        return Solution(
            values={name: value.sel(period=periods) for name, value in self.values.items()},
            duals={stage: dual.sel(period=periods) for stage, dual in self.duals.items()},
            objective=objective,
        )


def solve_model(model: linopy.Model, solver_name: str = "highs") -> None:
    """Solve in place with HiGHS; raise a person-readable error if no optimum is found.

    The model comes from `build_model`, which has already sanitised it, so the solve does not again.
    """
    status, condition = model.solve(
        solver_name=solver_name,
        io_api="direct",
        sanitize_zeros=False,
        sanitize_infinities=False,
        progress=False,
        output_flag=False,
    )
    if status != "ok":
        raise RaremapError(
            f"the equilibrium model was not solved to optimality (status {status}, condition {condition}); "
            "check the scenario for contradictory bounds or run with --export-mps to inspect the model"
        )


def solver_positions(label_to_position: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Solver column or row index of each linopy label (-1 where the entry does not exist)."""
    positions = np.full(labels.shape, -1, dtype=np.int64)
    present = labels >= 0
    positions[present] = label_to_position[labels[present]]
    return positions


def read_solution(model: linopy.Model) -> Solution:
    """Copy values and duals out of a solved model.

    An absent variable entry reads 0. A balance with no variable in it (a market nobody can supply
    or use, such as metal of an element no recipe needs) has no price, so its dual reads NaN rather
    than a 0 that would look like a free product.
    """
    values = {name: model.variables[name].solution.fillna(0.0) for name in model.variables}
    duals = {stage: _market_price(model, name) for stage, name in BALANCE_CONSTRAINTS.items() if name in model.constraints}
    return Solution(values=values, duals=duals, objective=float(model.objective.value or 0.0))


def objective_of_periods(model: linopy.Model, periods: list[int]) -> float:
    """The part of a solved model's objective that comes from variables of `periods`.

    Every variable has a period, so every objective term belongs to exactly one period.
    """
    labels = np.concatenate([model.variables[name].labels.values.ravel() for name in model.variables])
    value = np.zeros(int(labels.max()) + 1)
    in_periods = np.zeros(len(value), dtype=bool)
    for name in model.variables:
        variable = model.variables[name]
        assert "period" in variable.labels.dims, f"{name} has no period"
        own = variable.labels.values
        present = own >= 0
        value[own[present]] = variable.solution.values[present]
        chosen = variable.labels["period"].isin(periods).broadcast_like(variable.labels).values
        in_periods[own[present & chosen]] = True
    expression = model.objective.expression
    terms, coefficients = expression.vars.values.ravel(), expression.coeffs.values.ravel()
    kept = (terms >= 0) & in_periods[np.where(terms >= 0, terms, 0)]
    return float(coefficients[kept] @ value[terms[kept]])


def _market_price(model: linopy.Model, balance_name: str) -> xr.DataArray:
    """The dual of each balance row with a supplier or user in it; NaN for a market that does not exist.

    Disposal of separation surplus is not a participant: every country may dispose of oxide, but where
    nothing can be separated or bought there is no oxide market to price.
    """
    balance = model.constraints[balance_name]
    terms = balance.vars.values
    participant = (terms >= 0) & ~np.isin(terms, model.variables["Separation-surplus"].labels.values)
    has_participant = xr.DataArray(participant.any(axis=-1), coords=balance.dual.coords)
    return (balance.dual.fillna(0.0) + 0.0).where(has_participant)  # + 0.0 turns -0.0 into 0.0


def _delayed_arrivals(flow: xr.DataArray, delay: xr.DataArray) -> xr.DataArray:
    """The undelayed share of this period's flow plus the held share of the last period's."""
    return (1 - delay) * flow + (delay * flow).shift(period=1).fillna(0.0)


def concentrate_arrivals(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    delay = chain["delay_share"].sel(stage="mining", drop=True).max("element")
    return _delayed_arrivals(solution.values["Concentrate-flow"], delay)


def flow_arrivals(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    delay = chain["delay_share"].sel(stage=list(TRADED_STAGES))
    return _delayed_arrivals(solution.values["Flow"], delay)


def separation_output(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    """Separated oxide by country x element x period, from concentrate arrivals and compositions."""
    composition = chain["composition"].rename(country="exporter").sel(element=chain.separated_elements)
    output = (composition * concentrate_arrivals(chain, solution)).sum("exporter")
    return output.rename(importer="country").transpose("country", "element", "period")


def mass_balance_residuals(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    """Supply minus use per stage x country x element x period, recomputed from the values alone."""
    values = solution.values
    separated = chain.separated_elements
    served = values["Served"].sum(["sector", "step"])
    arrived = flow_arrivals(chain, solution).sum("exporter").rename(importer="country")
    shipped = values["Flow"].sum("importer").rename(exporter="country")
    trade = arrived - shipped
    stock_change = values["Stock-release"] - values["Stock-purchase"]
    composition = chain["composition"].sel(element=separated)
    mined = values["Mining-production"] - values["Concentrate-flow"].sum("importer").rename(exporter="country")
    mining = composition * mined
    calibrated = values.get("Calibration-supply", xr.zeros_like(values["Metal-production"]))
    pool_use = values.get("Magnet-metal-use", xr.zeros_like(values["Metal-production"]))
    fixed_recipe = chain["magnet_recipe"] * (1 - chain["magnet_pool"])
    separation = (
        separation_output(chain, solution)
        + calibrated.sel(element=separated)
        + values["Recycling-separation"].sel(element=separated)
        + stock_change.sel(stage="separation", drop=True).sel(element=separated)
        + trade.sel(stage="separation", drop=True).sel(element=separated)
        - values["Metal-production"].sel(element=separated) / chain["metal_factor"].sel(element=separated)
        - served.sel(element=separated)
        - values["Separation-surplus"]
    )
    metal = (
        values["Metal-production"].sel(element=separated)
        + values["Recycling-metal"].sel(element=separated)
        + stock_change.sel(stage="metal", drop=True).sel(element=separated)
        + trade.sel(stage="metal", drop=True).sel(element=separated)
        - fixed_recipe.sel(element=separated) * values["Magnet-production"]
        - pool_use.sel(element=separated)
    )
    magnet = (
        values["Magnet-production"]
        + calibrated.sel(element=MAGNET, drop=True)
        + stock_change.sel(stage="magnet", element=MAGNET, drop=True)
        + trade.sel(stage="magnet", element=MAGNET, drop=True)
        - served.sel(element=MAGNET, drop=True)
        # The NdPr pool: what magnet plants drew from the pool equals the pool content of their output.
        + (pool_use * (chain["magnet_pool"] > 0)).sum("element")
        - float((chain["magnet_recipe"] * chain["magnet_pool"]).sum()) * values["Magnet-production"]
    ).expand_dims(element=[MAGNET])
    initial = chain["stock_initial"].sel(stage=list(TRADED_STAGES))
    level = values["Stock-level"]
    previous = level.shift(period=1).fillna(0.0)
    previous = previous + initial.where(level["period"] == level["period"][0], 0.0)
    stocks = level - previous - values["Stock-purchase"] + values["Stock-release"]
    residuals = xr.concat(
        [
            mining.expand_dims(stage=["mining"]),
            separation.expand_dims(stage=["separation"]),
            metal.expand_dims(stage=["metal"]),
            magnet.expand_dims(stage=["magnet"]),
        ],
        dim="stage",
        join="outer",
        fill_value=0.0,
    )
    return residuals.fillna(0.0) + _stage_stock_residual(stocks, residuals)


def _stage_stock_residual(stocks: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """Stock carry-over residuals placed on the stage they belong to (zero at mining)."""
    return stocks.reindex_like(like).fillna(0.0).transpose(*like.dims)


def total_throughput(solution: Solution) -> float:
    """Tonnes mined, made and moved in the run: the scale of the mass balance tolerance."""
    names = ("Mining-production", "Concentrate-flow", "Flow", "Metal-production", "Magnet-production", "Served")
    return float(sum(float(np.abs(solution.values[name]).sum()) for name in names))


def check_mass_balance(chain: SupplyChain, solution: Solution) -> float:
    """The largest absolute residual; raises MassBalanceError above the scaled tolerance."""
    residuals = mass_balance_residuals(chain, solution)
    largest = float(np.abs(residuals).max()) if residuals.size else 0.0
    tolerance = MASS_BALANCE_RELATIVE_TOLERANCE * max(1.0, total_throughput(solution))
    if largest > tolerance:
        where = residuals.where(np.abs(residuals) == largest, drop=True)
        place = {dimension: str(where[dimension].values[0]) for dimension in where.dims}
        raise MassBalanceError(
            f"mass balance broken: residual {largest:.6g} t at {place} exceeds the tolerance {tolerance:.3g} t; "
            "this is a model bug, please report it with the scenario file"
        )
    return largest
