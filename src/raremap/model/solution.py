"""Solving the equilibrium LP, reading its values back, and checking conservation of mass.

The mass balance is recomputed here from the solution values with plain xarray arithmetic, not
from linopy's constraint objects, so a wrongly written constraint cannot hide its own error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import linopy
import numpy as np
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.equilibrium import BALANCE_CONSTRAINTS, CAPACITY_CONSTRAINTS, traded_stocks
from raremap.model.supply_chain import SupplyChain

MASS_BALANCE_RELATIVE_TOLERANCE = 1e-6
"""Largest residual allowed, as a share of max(1, total tonnes moved or made in the run)."""


EXPLAINING_CONSTRAINTS = (
    *CAPACITY_CONSTRAINTS.values(),
    "Route-growth-upper",
    "Contract-lower",
    "Flow-quota-upper",
    "Investment-pool-upper",
    "Investment-rate-upper",
)
"""Constraint families whose shadow prices say why a result is what it is."""


class MassBalanceError(RaremapError):
    """A solution that creates or destroys material: a bug in the model, never in the input."""


@dataclass(frozen=True)
class Solution:
    """The values of every variable (zero where an entry does not exist) and the balance duals."""

    values: dict[str, xr.DataArray]
    duals: dict[str, xr.DataArray]
    objective: float
    shadow_prices: dict[str, xr.DataArray] = field(default_factory=dict)
    """Duals of the constraint families that explain a result (capacity, routes, contracts, quotas)."""

    def for_periods(self, periods: list[float], objective: float) -> Solution:
        """The part of the solution in `periods`, whose share of the objective is `objective`."""
        return Solution(
            values={name: value.sel(period=periods) for name, value in self.values.items()},
            duals={stage: dual.sel(period=periods) for stage, dual in self.duals.items()},
            objective=objective,
            shadow_prices={name: dual.sel(period=periods) for name, dual in self.shadow_prices.items()},
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
    shadow = {name: model.constraints[name].dual.fillna(0.0) for name in EXPLAINING_CONSTRAINTS if name in model.constraints}
    return Solution(values=values, duals=duals, objective=float(model.objective.value or 0.0), shadow_prices=shadow)


def objective_of_periods(model: linopy.Model, periods: list[float]) -> float:
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


def separation_output(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    """Separated oxide by country x element x period: from concentrate arrivals and compositions, plus
    the oxide recovered from the country's own magnet scrap."""
    composition = chain["composition"].rename(country="exporter").sel(element=chain.separated_elements)
    output = (composition * solution.values["Concentrate-flow"]).sum("exporter").rename(importer="country")
    return (output + scrap_oxide(chain, solution)).transpose("country", "element", "period")


def scrap_oxide(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    """Oxide recovered from each country's process scrap: scrap_share of the metal it put into magnets."""
    separated, products = chain.separated_elements, chain.magnet_products
    made = solution.values["Magnet-production"].sel(element=products).rename(element="product")
    fixed_recipe = (chain["recipe"].sel(element=products) * (1 - chain["magnet_pool"])).rename(element="product", ingredient="element")
    metal_in = (fixed_recipe * made).sum("product").sel(element=separated) + solution.values["Magnet-metal-use"].sel(element=separated)
    return metal_in * chain["scrap_share"] / chain["metal_factor"].sel(element=separated)


def goods_used(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    """Goods bought by buyers per country x element x period (bundle x served)."""
    return (chain["bundle"] * solution.values["Served"].sum("step")).sum("sector")


def mass_balance_residuals(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    """Supply minus use per stage x country x element x period, recomputed from the values alone."""
    values = solution.values
    separated, products = chain.separated_elements, chain.magnet_products
    used = goods_used(chain, solution)
    trade = (
        values["Flow"].sum("exporter").rename(importer="country")
        - values["Flow"].sum("importer").rename(exporter="country")
    )
    stock_change = values["Stock-release"] - values["Stock-purchase"]
    mined = values["Mining-production"] - values["Concentrate-flow"].sum("importer").rename(exporter="country")
    mining = chain["composition"].sel(element=separated) * mined
    calibrated = values["Calibration-supply"]
    recycled = values["Recycling-supply"].sum("tier")
    products_made = values["Magnet-production"].sel(element=products).rename(element="product")
    fixed_recipe = (chain["recipe"].sel(element=products) * (1 - chain["magnet_pool"])).rename(element="product", ingredient="element")
    separation = (
        separation_output(chain, solution)
        + calibrated.sel(element=separated)
        + recycled.sel(element=separated) / chain["metal_factor"].sel(element=separated)
        + stock_change.sel(stage="separation", element=separated, drop=True)
        + trade.sel(stage="separation", element=separated, drop=True)
        - values["Metal-production"].sel(element=separated) / chain["metal_factor"].sel(element=separated)
        - used.sel(element=separated)
        - values["Separation-surplus"]
    )
    metal = (
        values["Metal-production"].sel(element=separated)
        + stock_change.sel(stage="metal", element=separated, drop=True)
        + trade.sel(stage="metal", element=separated, drop=True)
        - (fixed_recipe * products_made).sum("product")
        - values["Magnet-metal-use"].sel(element=separated)
    )
    magnet = (
        values["Magnet-production"].sel(element=products)
        + calibrated.sel(element=products)
        + stock_change.sel(stage="magnet", element=products, drop=True)
        + trade.sel(stage="magnet", element=products, drop=True)
        - used.sel(element=products)
    )
    pool_content = (chain["recipe"] * chain["magnet_pool"]).sum("ingredient").sel(element=products).rename(element="product")
    pool = (values["Magnet-metal-use"].sum("element") - (pool_content * products_made).sum("product")).expand_dims(element=["NdPr pool"])
    initial = traded_stocks(chain["stock_initial"])
    level = values["Stock-level"]
    previous = level.shift(period=1).fillna(0.0) + initial.where(level["period"] == level["period"][0], 0.0)
    stocks = level - previous - values["Stock-purchase"] + values["Stock-release"]
    residuals = xr.concat(
        [
            mining.expand_dims(stage=["mining"]),
            separation.expand_dims(stage=["separation"]),
            metal.expand_dims(stage=["metal"]),
            xr.concat([magnet, pool], dim="element").expand_dims(stage=["magnet"]),
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
    names = ("Mining-production", "Concentrate-flow", "Flow", "Metal-production", "Magnet-production", "Served", "Calibration-supply")
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
