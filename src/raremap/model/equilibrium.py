"""The spatial partial equilibrium as one linopy linear program over all periods.

Element by element along the chain: mines offer rare-earth oxide (REO) in concentrate with their
country's element composition; concentrate moves to separating countries; separation yields every
element of its feed jointly (co-production, surplus disposed of or stocked); metal plants convert
oxide to metal; magnet plants turn metal into magnets by a recipe; countries and sectors buy
against stepwise demand. Maximising welfare (minimising cost minus the value of served demand)
gives flows; the duals of the balance constraints are prices; unserved demand is shortfall.

Every variable and constraint is added once, vectorised over its named dimensions, with ``mask=``
marking the entries that exist. Names read as English: ``Metal-capacity-upper``,
``Separation-balance``, ``Flow-quota-upper``.

Masked slots contribute zero to sums (linopy's legacy semantics); that is exactly what an absent
edge means here, so the semantics warning is silenced inside ``build_model`` only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd
import xarray as xr
from linopy.config import LinopySemanticsWarning

from raremap.model.supply_chain import MAGNET, TRADED_STAGES, SupplyChain

BALANCE_CONSTRAINTS = {
    "mining": "Mining-balance",
    "separation": "Separation-balance",
    "metal": "Metal-balance",
    "magnet": "Magnet-balance",
}


@dataclass(frozen=True)
class Network:
    """The masks that say which edges, plants and demand entries exist (derived from a SupplyChain)."""

    concentrate_edges: xr.DataArray
    flow_edges: xr.DataArray
    metal_plants: xr.DataArray
    magnet_plants: xr.DataArray
    demand_entries: xr.DataArray
    substitution_entries: xr.DataArray
    stock_entries: xr.DataArray
    pool_entries: xr.DataArray
    calibration_entries: xr.DataArray


def network(chain: SupplyChain) -> Network:
    """Which entries of each variable exist: edges only from producers to users of a stage."""
    capacity = chain["capacity"].max("period") > 0
    exporter = {"country": "exporter"}
    importer = {"country": "importer"}
    separated = xr.DataArray(
        [element != MAGNET for element in chain.elements], coords={"element": chain.elements}, dims="element"
    )
    miners = capacity.sel(stage="mining", drop=True).rename(exporter)
    separators = capacity.sel(stage="separation", drop=True).rename(importer)
    concentrate_edges = (miners & separators).transpose("exporter", "importer")
    demand_present = chain["demand"].max("period") > 0
    demanded = demand_present.any("sector")
    in_magnets = (chain["magnet_recipe"] > 0) | (chain["magnet_pool"] > 0)
    used_as_oxide = in_magnets | demanded.any("country")
    consumers_of = {
        "separation": capacity.sel(stage="metal", drop=True) | demanded.where(separated, False).any("element"),
        "metal": capacity.sel(stage="magnet", drop=True),
        "magnet": demanded.sel(element=MAGNET, drop=True),
    }
    producers_of = {
        "separation": capacity.sel(stage="separation", drop=True),
        "metal": capacity.sel(stage="metal", drop=True),
        "magnet": capacity.sel(stage="magnet", drop=True),
    }
    stock_present = (chain["stock_initial"] > 0) | (chain["stock_refill"] > 0)
    edge_list = []
    for stage in TRADED_STAGES:
        producers = producers_of[stage] | stock_present.sel(stage=stage, drop=True).any("element")
        edge = producers.rename(exporter) & consumers_of[stage].rename(importer)
        # Only products somebody downstream uses are traded: metals that go into magnets, oxides
        # that become such metals or are bought as oxide (co-products such as Ce stay as surplus).
        element_allowed = {"magnet": ~separated, "metal": separated & in_magnets, "separation": separated & used_as_oxide}
        edge_list.append(edge & element_allowed[stage])
    flow_edges = xr.concat(edge_list, dim=xr.DataArray(list(TRADED_STAGES), dims="stage", name="stage"))
    off_diagonal = xr.DataArray(
        ~np.eye(len(chain.countries), dtype=bool),
        coords={"exporter": chain.countries, "importer": chain.countries},
        dims=("exporter", "importer"),
    )
    flow_edges = (flow_edges & off_diagonal).transpose("stage", "exporter", "importer", "element")
    demand_entries = (chain["demand"] > 0) & (chain["willingness_to_pay"] > 0) & (chain["step_share"] > 0)
    substitution_entries = (chain["substitution_rate"].max("period") > 0) & demand_present
    return Network(
        concentrate_edges=concentrate_edges,
        flow_edges=flow_edges,
        metal_plants=capacity.sel(stage="metal", drop=True) & separated & in_magnets,
        magnet_plants=capacity.sel(stage="magnet", drop=True),
        demand_entries=demand_entries.transpose("country", "sector", "element", "step", "period"),
        substitution_entries=substitution_entries,
        stock_entries=stock_present.sel(stage=list(TRADED_STAGES)),
        pool_entries=capacity.sel(stage="magnet", drop=True) & (chain["magnet_pool"] > 0),
        calibration_entries=chain["calibration_supply"] > 0,
    )


def build_model(chain: SupplyChain) -> linopy.Model:
    """The welfare-maximising LP of `chain` (as a minimisation of cost minus value)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinopySemanticsWarning)
        model = linopy.Model(force_dim_names=True)
        masks = network(chain)
        _add_variables(model, chain, masks)
        shared = shared_terms(model, chain)
        _add_capacity_constraints(model, chain, shared)
        _add_quota_constraints(model, chain)
        _add_balance_constraints(model, chain, masks, shared)
        _add_demand_constraints(model, chain, masks)
        _add_stock_constraints(model, chain, masks)
        model.add_objective(_objective(model, chain, shared))
        # Drop zero coefficients and rows with an infinite bound now, as the solve would: the model
        # then has the same rows whether it is solved, exported (--export-mps) or read as matrices.
        model.constraints.sanitize_zeros()
        model.constraints.sanitize_infinities()
    return model


def _add_variables(model: linopy.Model, chain: SupplyChain, masks: Network) -> None:
    length = chain.period_length
    data = {str(dimension): _index(chain, str(dimension)) for dimension in chain.data.dims}
    period = chain.data["period"]
    traded = pd.Index(list(TRADED_STAGES), name="stage")
    model.add_variables(0, coords=[data["country"], data["period"]], name="Mining-production")
    # Export controls (bans, per-edge quotas) are upper bounds on the edges they cover.
    flow_upper = chain["flow_upper"] * length
    model.add_variables(
        0,
        flow_upper.sel(stage="mining", drop=True).min("element"),
        coords=[data["exporter"], data["importer"], data["period"]],
        name="Concentrate-flow",
        mask=_over_periods(masks.concentrate_edges, period),
    )
    separated = pd.Index(chain.separated_elements, name="element")
    model.add_variables(0, coords=[data["country"], separated, data["period"]], name="Separation-surplus")
    model.add_variables(
        0,
        flow_upper.sel(stage=list(TRADED_STAGES)),
        coords=[traded, data["exporter"], data["importer"], data["element"], data["period"]],
        name="Flow",
        mask=_over_periods(masks.flow_edges, period),
    )
    model.add_variables(
        0,
        coords=[data["country"], data["element"], data["period"]],
        name="Metal-production",
        mask=_over_periods(masks.metal_plants, period),
    )
    model.add_variables(
        0, coords=[data["country"], data["period"]], name="Magnet-production", mask=_over_periods(masks.magnet_plants, period)
    )
    # Each demand step is a bound: at most its share of the period's demand is served.
    model.add_variables(
        0,
        (chain["step_share"] * chain["demand"] * length).transpose(*masks.demand_entries.dims),
        coords=[data["country"], data["sector"], data["element"], data["step"], data["period"]],
        name="Served",
        mask=masks.demand_entries,
    )
    model.add_variables(
        0,
        1,
        coords=[data["country"], data["sector"], data["element"], data["period"]],
        name="Substitution-share",
        mask=_over_periods(masks.substitution_entries, period),
    )
    model.add_variables(
        0,
        coords=[data["country"], data["element"], data["period"]],
        name="Magnet-metal-use",
        mask=_over_periods(masks.pool_entries, period),
    )
    calibration = chain["calibration_supply"] * length
    model.add_variables(
        0,
        _over_periods(calibration, period),
        name="Calibration-supply",
        mask=_over_periods(masks.calibration_entries, period),
    )
    for route in ("separation", "metal"):
        available = chain[f"recycling_to_{route}"] * length
        model.add_variables(0, available, name=f"Recycling-{route}", mask=available > 0)
    stock_coordinates = [traded, data["country"], data["element"], data["period"]]
    stock_mask = _over_periods(masks.stock_entries, period)
    model.add_variables(0, coords=stock_coordinates, name="Stock-level", mask=stock_mask)
    model.add_variables(0, coords=stock_coordinates, name="Stock-release", mask=stock_mask)
    refill_mask = stock_mask & (chain["stock_refill"].sel(stage=list(TRADED_STAGES)) > 0)
    model.add_variables(0, coords=stock_coordinates, name="Stock-purchase", mask=refill_mask)


def _index(chain: SupplyChain, dimension: str) -> pd.Index:
    """The coordinate of one dimension as a named pandas index (what linopy wants for coords)."""
    return pd.Index(chain.data[dimension].values, name=dimension)


def _over_periods(mask: xr.DataArray, period: xr.DataArray) -> xr.DataArray:
    """A mask repeated over every period, with period as the last dimension."""
    return mask.broadcast_like(period).transpose(*mask.dims, "period")


def _delayed(flow: linopy.Variable, delay: xr.DataArray) -> linopy.LinearExpression:
    """What arrives of a flow: the undelayed part now, the part held by a licence delay next period."""
    if not bool((delay > 0).any()):
        return flow.to_linexpr()
    return (1 - delay) * flow + (delay * flow).shift(period=1)


def _exists(model: linopy.Model, name: str) -> bool:
    """Whether a variable has any entry (a family without one adds nothing to any sum, so is skipped)."""
    return bool((model.variables[name].labels >= 0).any())


def _total(terms: Sequence[linopy.LinearExpression]) -> linopy.LinearExpression:
    """The sum of several expressions over the same coordinates, concatenated in one step."""
    return linopy.merge(list(terms), cls=linopy.LinearExpression)


@dataclass(frozen=True)
class SharedTerms:
    """Expressions used by several constraints and the objective, built once per model."""

    separation_input: linopy.LinearExpression  # REO fed to separation [country, period]
    separation_output: linopy.LinearExpression  # oxide separated [country, element, period]
    net_imports: linopy.LinearExpression  # arrived minus shipped [stage, country, element, period]
    served: linopy.LinearExpression  # demand served over sectors and steps [country, element, period]


def shared_terms(model: linopy.Model, chain: SupplyChain) -> SharedTerms:
    """Arrivals net of shipments per stage, separation feed and output, and served demand.

    Each linopy operation costs milliseconds whatever its size, so these are formed once, not per use.
    """
    variables = model.variables
    concentrate = _delayed(variables["Concentrate-flow"], chain["delay_share"].sel(stage="mining", drop=True).max("element"))
    composition = chain["composition"].rename(country="exporter").sel(element=chain.separated_elements)
    flow = variables["Flow"]
    arrived = _delayed(flow, chain["delay_share"].sel(stage=list(TRADED_STAGES)))
    imports = arrived.sum("exporter").rename(importer="country")
    exports = flow.sum("importer").rename(exporter="country")
    return SharedTerms(
        separation_input=concentrate.sum("exporter").rename(importer="country"),
        separation_output=(composition * concentrate).sum("exporter").rename(importer="country"),
        net_imports=imports - exports,
        served=variables["Served"].sum(["sector", "step"]),
    )


def _add_capacity_constraints(model: linopy.Model, chain: SupplyChain, shared: SharedTerms) -> None:
    capacity = chain["capacity"] * chain.period_length
    # A plant's limit applies wherever its variable exists, which is where it has capacity in any
    # period (see `network`); a period in which that capacity is 0 must bind at 0, not vanish.
    plant_exists = (chain["capacity"].max("period") > 0).broadcast_like(capacity)
    variables = model.variables
    model.add_constraints(
        variables["Mining-production"] <= capacity.sel(stage="mining", drop=True), name="Mining-capacity-upper"
    )
    model.add_constraints(
        shared.separation_input <= capacity.sel(stage="separation", drop=True), name="Separation-capacity-upper"
    )
    model.add_constraints(
        variables["Metal-production"].sum("element") <= capacity.sel(stage="metal", drop=True),
        name="Metal-capacity-upper",
        mask=plant_exists.sel(stage="metal", drop=True),
    )
    model.add_constraints(
        variables["Magnet-production"] <= capacity.sel(stage="magnet", drop=True),
        name="Magnet-capacity-upper",
        mask=plant_exists.sel(stage="magnet", drop=True),
    )


def _add_quota_constraints(model: linopy.Model, chain: SupplyChain) -> None:
    """Tonnage quotas: the sum over the edges a control covers stays within its limit.

    Bans and per-edge quotas are upper bounds on the flow variables (see `_add_variables`).
    """
    if "quota" not in chain.data.dims or chain.data.sizes["quota"] == 0:
        return
    member = chain["quota_member"]
    traded = (model.variables["Flow"] * member.sel(stage=list(TRADED_STAGES))).sum(
        ["stage", "exporter", "importer", "element"]
    )
    concentrate = (
        model.variables["Concentrate-flow"] * member.sel(stage="mining", drop=True).max("element")
    ).sum(["exporter", "importer"])
    limit = chain["quota_limit"] * chain.period_length
    model.add_constraints(traded + concentrate <= limit.fillna(0), name="Flow-quota-upper", mask=limit.notnull())


def _market_terms(
    model: linopy.Model, shared: SharedTerms, stage: str, elements: list[str] | str
) -> list[linopy.LinearExpression]:
    """What enters a stage's market besides production: net imports, and stock released minus bought."""
    terms = [shared.net_imports.sel(stage=stage, element=elements, drop=True)]
    if _exists(model, "Stock-level"):
        release = model.variables["Stock-release"].sel(stage=stage, element=elements, drop=True)
        purchase = model.variables["Stock-purchase"].sel(stage=stage, element=elements, drop=True)
        terms += [release.to_linexpr(), -purchase]
    return terms


def _add_balance_constraints(model: linopy.Model, chain: SupplyChain, masks: Network, shared: SharedTerms) -> None:
    variables = model.variables
    separated = chain.separated_elements
    model.add_constraints(
        variables["Mining-production"] - variables["Concentrate-flow"].sum("importer").rename(exporter="country")
        == 0,
        name="Mining-balance",
    )
    separation = [shared.separation_output, *_market_terms(model, shared, "separation", separated)]
    separation += [-variables["Metal-production"].sel(element=separated) / chain["metal_factor"].sel(element=separated)]
    separation += [-shared.served.sel(element=separated), -variables["Separation-surplus"]]
    for name in ("Calibration-supply", "Recycling-separation"):
        if _exists(model, name):
            separation.append(variables[name].sel(element=separated).to_linexpr())
    model.add_constraints(_total(separation) == 0, name="Separation-balance")
    _add_metal_balance(model, chain, masks, shared)
    magnet = [variables["Magnet-production"].to_linexpr(), *_market_terms(model, shared, "magnet", MAGNET)]
    magnet.append(-shared.served.sel(element=MAGNET, drop=True))
    if _exists(model, "Calibration-supply"):
        magnet.append(variables["Calibration-supply"].sel(element=MAGNET, drop=True).to_linexpr())
    model.add_constraints(_total(magnet) == 0, name="Magnet-balance")


def _add_metal_balance(model: linopy.Model, chain: SupplyChain, masks: Network, shared: SharedTerms) -> None:
    """Metal made, recycled and traded goes into magnets: a fixed recipe plus, for Nd and Pr, the pool."""
    variables = model.variables
    separated = chain.separated_elements
    recipe = chain["magnet_recipe"].sel(element=separated)
    pool = chain["magnet_pool"].sel(element=separated)
    pool_use = variables["Magnet-metal-use"].sel(element=separated)
    metal = [variables["Metal-production"].sel(element=separated).to_linexpr()]
    metal += _market_terms(model, shared, "metal", separated)
    metal += [-(recipe * (1 - pool)) * variables["Magnet-production"], -pool_use]
    if _exists(model, "Recycling-metal"):
        metal.append(variables["Recycling-metal"].sel(element=separated).to_linexpr())
    model.add_constraints(_total(metal) == 0, name="Metal-balance")
    if not int((pool > 0).sum()):
        return
    pool_content = float((recipe * pool).sum())
    model.add_constraints(
        pool_use.sum("element") - pool_content * variables["Magnet-production"] == 0,
        name="Magnet-pool-balance",
        mask=masks.pool_entries.any("element").broadcast_like(chain.data["period"]),
    )
    minimum = chain["magnet_recipe_min"].sel(element=separated)
    model.add_constraints(
        pool_use - minimum * variables["Magnet-production"] >= 0,
        name="Magnet-recipe-lower",
        mask=_over_periods(masks.pool_entries.sel(element=separated) & (minimum > 0), chain.data["period"]),
    )


def _add_demand_constraints(model: linopy.Model, chain: SupplyChain, masks: Network) -> None:
    """Demand net of substitution; substitution adopts at most `rate` per year and never reverts.

    The steps of the demand curve are upper bounds on `Served` (see `_add_variables`).
    """
    demand = chain["demand"] * chain.period_length
    served = model.variables["Served"].sum("step")
    if not _exists(model, "Substitution-share"):
        model.add_constraints(served <= demand, name="Demand-total-upper", mask=demand > 0)
        return
    share = model.variables["Substitution-share"]
    model.add_constraints(served + demand * share <= demand, name="Demand-total-upper", mask=demand > 0)
    rate = chain["substitution_rate"] * chain.period_length
    adoption = share - share.shift(period=1)
    adopting = _over_periods(masks.substitution_entries, chain.data["period"])
    model.add_constraints(adoption <= rate, name="Substitution-rate-upper", mask=adopting)
    model.add_constraints(adoption >= 0, name="Substitution-irreversible-lower", mask=adopting)


def _add_stock_constraints(model: linopy.Model, chain: SupplyChain, masks: Network) -> None:
    """Stock level carried over: level = previous level (or the initial stock) + purchases - releases."""
    variables = model.variables
    if not _exists(model, "Stock-level"):
        return
    level = variables["Stock-level"]
    initial = chain["stock_initial"].sel(stage=list(TRADED_STAGES))
    first = xr.DataArray(
        [index == 0 for index in range(len(chain.periods))], coords={"period": chain.periods}, dims="period"
    )
    carried = level.shift(period=1)
    model.add_constraints(
        level - carried - variables["Stock-purchase"] + variables["Stock-release"] == initial.where(first, 0),
        name="Stock-balance",
        mask=_over_periods(masks.stock_entries, chain.data["period"]),
    )
    limit = chain["stock_release_limit"].sel(stage=list(TRADED_STAGES)) * chain.period_length
    model.add_constraints(
        variables["Stock-release"] <= limit.where(np.isfinite(limit), 0),
        name="Stock-release-upper",
        mask=np.isfinite(limit) & _over_periods(masks.stock_entries, chain.data["period"]),
    )


def _objective(model: linopy.Model, chain: SupplyChain, shared: SharedTerms) -> linopy.LinearExpression:
    """Cost of production, transport, tariffs, stocks, substitution and recycling minus the value served."""
    variables = model.variables
    cost = chain["operating_cost"]
    transport = chain["transport_cost"] + chain["route_cost"] + chain["tariff"]
    off_diagonal = xr.DataArray(
        ~np.eye(len(chain.countries), dtype=bool),
        coords={"exporter": chain.countries, "importer": chain.countries},
        dims=("exporter", "importer"),
    )
    concentrate_transport = transport.sel(stage="mining", drop=True).max("element").where(off_diagonal, 0)
    terms = [
        (cost.sel(stage="mining", drop=True) * variables["Mining-production"]).sum(),
        (cost.sel(stage="separation", drop=True) * shared.separation_input).sum(),
        (cost.sel(stage="metal", drop=True) * variables["Metal-production"]).sum(),
        (cost.sel(stage="magnet", drop=True) * variables["Magnet-production"]).sum(),
        (concentrate_transport * variables["Concentrate-flow"]).sum(),
        (transport.sel(stage=list(TRADED_STAGES)) * variables["Flow"]).sum(),
        -(chain["willingness_to_pay"] * variables["Served"]).sum(),
    ]
    if _exists(model, "Stock-level"):
        terms.append((chain["stock_holding_cost"] * variables["Stock-level"]).sum())
        terms.append((chain["stock_release_cost"].sel(stage=list(TRADED_STAGES)) * variables["Stock-release"]).sum())
    if _exists(model, "Substitution-share"):
        # Substituted demand is met by another material: it earns the value of the lowest demand step.
        net_cost = chain["substitution_cost"] - chain["willingness_to_pay"].min("step")
        terms.append((net_cost * chain["demand"] * chain.period_length * variables["Substitution-share"]).sum())
    for name in ("Recycling-separation", "Recycling-metal"):
        if _exists(model, name):
            terms.append(chain["recycling_cost"] * variables[name].sum())
    if _exists(model, "Calibration-supply"):
        terms.append((chain["calibration_cost"] * variables["Calibration-supply"]).sum())
    return _total(terms)
