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

An absent slot (no edge, no plant) contributes zero to every sum. That is written out, through
`Terms`, rather than left to linopy's default, so the model is the same under linopy's legacy and
v1 arithmetic and no semantics warning is raised (silencing one is not thread-safe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from raremap.model.supply_chain import MAGNET, SupplyChain
from raremap.vocabulary import TRADED_STAGES

BALANCE_CONSTRAINTS = {
    "mining": "Mining-balance",
    "separation": "Separation-balance",
    "metal": "Metal-balance",
    "magnet": "Magnet-balance",
}


@dataclass(frozen=True)
class Network:
    """The masks that say which edges, plants and demand entries exist (derived from a SupplyChain)."""

    mines: xr.DataArray
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
        mines=capacity.sel(stage="mining", drop=True),
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
    model = linopy.Model(force_dim_names=True)
    masks = network(chain)
    _add_variables(model, chain, masks)
    terms = Terms(model)
    shared = shared_terms(terms, chain)
    _add_capacity_constraints(model, terms, chain, shared)
    _add_quota_constraints(model, terms, chain)
    _add_balance_constraints(model, terms, chain, masks, shared)
    _add_demand_constraints(model, terms, chain, masks)
    _add_stock_constraints(model, terms, chain, masks)
    model.add_objective(_objective(terms, chain, shared))
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
    model.add_variables(
        0, coords=[data["country"], data["period"]], name="Mining-production", mask=_over_periods(masks.mines, period)
    )
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


class Terms:
    """Each variable family as an expression in which an absent slot adds 0, formed once per family.

    ``fillna(0)`` is linopy's way to say so under both its legacy and v1 semantics; under v1 an absent
    slot would otherwise make a whole sum absent and drop its constraint. Each linopy operation costs
    milliseconds whatever its size, hence the cache.
    """

    def __init__(self, model: linopy.Model):
        self.model = model
        self._formed: dict[str, linopy.LinearExpression] = {}

    def __getitem__(self, name: str) -> linopy.LinearExpression:
        if name not in self._formed:
            present = self.model.variables[name].fillna(0)
            assert isinstance(present, linopy.LinearExpression)  # a number fills with a constant
            self._formed[name] = present
        return self._formed[name]

    def exists(self, name: str) -> bool:
        """Whether a family has any entry (one without adds nothing to any sum, so is skipped)."""
        return bool((self.model.variables[name].labels >= 0).any())


def _previous(expression: linopy.LinearExpression) -> linopy.LinearExpression:
    """The expression one period earlier; before the first period there is nothing (0)."""
    return expression.shift(period=1).fillna(0)


def _delayed(flow: linopy.LinearExpression, delay: xr.DataArray) -> linopy.LinearExpression:
    """What arrives of a flow: the undelayed part now, the part held by a licence delay next period."""
    if not bool((delay > 0).any()):
        return flow
    return (1 - delay) * flow + _previous(delay * flow)


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


def shared_terms(terms: Terms, chain: SupplyChain) -> SharedTerms:
    """Arrivals net of shipments per stage, separation feed and output, and served demand.

    Each linopy operation costs milliseconds whatever its size, so these are formed once, not per use.
    """
    concentrate = _delayed(terms["Concentrate-flow"], chain["delay_share"].sel(stage="mining", drop=True).max("element"))
    composition = chain["composition"].rename(country="exporter").sel(element=chain.separated_elements)
    flow = terms["Flow"]
    arrived = _delayed(flow, chain["delay_share"].sel(stage=list(TRADED_STAGES)))
    imports = arrived.sum("exporter").rename(importer="country")
    exports = flow.sum("importer").rename(exporter="country")
    return SharedTerms(
        separation_input=concentrate.sum("exporter").rename(importer="country"),
        separation_output=(composition * concentrate).sum("exporter").rename(importer="country"),
        net_imports=imports - exports,
        served=terms["Served"].sum(["sector", "step"]),
    )


def _add_capacity_constraints(model: linopy.Model, terms: Terms, chain: SupplyChain, shared: SharedTerms) -> None:
    capacity = chain["capacity"] * chain.period_length
    # A plant's limit applies wherever its variable exists, which is where it has capacity in any
    # period (see `network`); a period in which that capacity is 0 must bind at 0, not vanish.
    plant_exists = (chain["capacity"].max("period") > 0).broadcast_like(capacity)
    model.add_constraints(
        terms["Mining-production"] <= capacity.sel(stage="mining", drop=True),
        name="Mining-capacity-upper",
        mask=plant_exists.sel(stage="mining", drop=True),
    )
    model.add_constraints(
        shared.separation_input <= capacity.sel(stage="separation", drop=True), name="Separation-capacity-upper"
    )
    model.add_constraints(
        terms["Metal-production"].sum("element") <= capacity.sel(stage="metal", drop=True),
        name="Metal-capacity-upper",
        mask=plant_exists.sel(stage="metal", drop=True),
    )
    model.add_constraints(
        terms["Magnet-production"] <= capacity.sel(stage="magnet", drop=True),
        name="Magnet-capacity-upper",
        mask=plant_exists.sel(stage="magnet", drop=True),
    )


def _add_quota_constraints(model: linopy.Model, terms: Terms, chain: SupplyChain) -> None:
    """Tonnage quotas: the sum over the edges a control covers stays within its limit.

    Bans and per-edge quotas are upper bounds on the flow variables (see `_add_variables`).
    """
    if "quota" not in chain.data.dims or chain.data.sizes["quota"] == 0:
        return
    member = chain["quota_member"]
    traded = (terms["Flow"] * member.sel(stage=list(TRADED_STAGES))).sum(["stage", "exporter", "importer", "element"])
    concentrate = (terms["Concentrate-flow"] * member.sel(stage="mining", drop=True).max("element")).sum(
        ["exporter", "importer"]
    )
    limit = chain["quota_limit"] * chain.period_length
    model.add_constraints(traded + concentrate <= limit.fillna(0), name="Flow-quota-upper", mask=limit.notnull())


def _market_terms(
    terms: Terms, shared: SharedTerms, stage: str, elements: list[str] | str
) -> list[linopy.LinearExpression]:
    """What enters a stage's market besides production: net imports, and stock released minus bought."""
    market = [shared.net_imports.sel(stage=stage, element=elements, drop=True)]
    if terms.exists("Stock-level"):
        release = terms["Stock-release"].sel(stage=stage, element=elements, drop=True)
        purchase = terms["Stock-purchase"].sel(stage=stage, element=elements, drop=True)
        market += [release, -purchase]
    return market


def _add_balance_constraints(
    model: linopy.Model, terms: Terms, chain: SupplyChain, masks: Network, shared: SharedTerms
) -> None:
    separated = chain.separated_elements
    model.add_constraints(
        terms["Mining-production"] - terms["Concentrate-flow"].sum("importer").rename(exporter="country") == 0,
        name="Mining-balance",
    )
    separation = [shared.separation_output, *_market_terms(terms, shared, "separation", separated)]
    separation += [-terms["Metal-production"].sel(element=separated) / chain["metal_factor"].sel(element=separated)]
    separation += [-shared.served.sel(element=separated), -terms["Separation-surplus"]]
    for name in ("Calibration-supply", "Recycling-separation"):
        if terms.exists(name):
            separation.append(terms[name].sel(element=separated))
    model.add_constraints(_total(separation) == 0, name="Separation-balance")
    _add_metal_balance(model, terms, chain, masks, shared)
    magnet = [terms["Magnet-production"], *_market_terms(terms, shared, "magnet", MAGNET)]
    magnet.append(-shared.served.sel(element=MAGNET, drop=True))
    if terms.exists("Calibration-supply"):
        magnet.append(terms["Calibration-supply"].sel(element=MAGNET, drop=True))
    model.add_constraints(_total(magnet) == 0, name="Magnet-balance")


def _add_metal_balance(
    model: linopy.Model, terms: Terms, chain: SupplyChain, masks: Network, shared: SharedTerms
) -> None:
    """Metal made, recycled and traded goes into magnets: a fixed recipe plus, for Nd and Pr, the pool."""
    separated = chain.separated_elements
    recipe = chain["magnet_recipe"].sel(element=separated)
    pool = chain["magnet_pool"].sel(element=separated)
    pool_use = terms["Magnet-metal-use"].sel(element=separated)
    magnets = terms["Magnet-production"]
    metal = [terms["Metal-production"].sel(element=separated)]
    metal += _market_terms(terms, shared, "metal", separated)
    metal += [-(recipe * (1 - pool)) * magnets, -pool_use]
    if terms.exists("Recycling-metal"):
        metal.append(terms["Recycling-metal"].sel(element=separated))
    model.add_constraints(_total(metal) == 0, name="Metal-balance")
    if not int((pool > 0).sum()):
        return
    pool_content = float((recipe * pool).sum())
    model.add_constraints(
        pool_use.sum("element") - pool_content * magnets == 0,
        name="Magnet-pool-balance",
        mask=masks.pool_entries.any("element").broadcast_like(chain.data["period"]),
    )
    minimum = chain["magnet_recipe_min"].sel(element=separated)
    model.add_constraints(
        pool_use - minimum * magnets >= 0,
        name="Magnet-recipe-lower",
        mask=_over_periods(masks.pool_entries.sel(element=separated) & (minimum > 0), chain.data["period"]),
    )


def _add_demand_constraints(model: linopy.Model, terms: Terms, chain: SupplyChain, masks: Network) -> None:
    """Demand net of substitution; substitution adopts at most `rate` per year and never reverts.

    The steps of the demand curve are upper bounds on `Served` (see `_add_variables`).
    """
    demand = chain["demand"] * chain.period_length
    served = terms["Served"].sum("step")
    if not terms.exists("Substitution-share"):
        model.add_constraints(served <= demand, name="Demand-total-upper", mask=demand > 0)
        return
    share = terms["Substitution-share"]
    model.add_constraints(served + demand * share <= demand, name="Demand-total-upper", mask=demand > 0)
    rate = chain["substitution_rate"] * chain.period_length
    adoption = share - _previous(share)
    adopting = _over_periods(masks.substitution_entries, chain.data["period"])
    model.add_constraints(adoption <= rate, name="Substitution-rate-upper", mask=adopting)
    model.add_constraints(adoption >= 0, name="Substitution-irreversible-lower", mask=adopting)


def _add_stock_constraints(model: linopy.Model, terms: Terms, chain: SupplyChain, masks: Network) -> None:
    """Stock level carried over: level = previous level (or the initial stock) + purchases - releases."""
    if not terms.exists("Stock-level"):
        return
    level = terms["Stock-level"]
    initial = chain["stock_initial"].sel(stage=list(TRADED_STAGES))
    first = xr.DataArray(
        [index == 0 for index in range(len(chain.periods))], coords={"period": chain.periods}, dims="period"
    )
    model.add_constraints(
        level - _previous(level) - terms["Stock-purchase"] + terms["Stock-release"] == initial.where(first, 0),
        name="Stock-balance",
        mask=_over_periods(masks.stock_entries, chain.data["period"]),
    )
    limit = chain["stock_release_limit"].sel(stage=list(TRADED_STAGES)) * chain.period_length
    model.add_constraints(
        terms["Stock-release"] <= limit.where(np.isfinite(limit), 0),
        name="Stock-release-upper",
        mask=np.isfinite(limit) & _over_periods(masks.stock_entries, chain.data["period"]),
    )


def _objective(terms: Terms, chain: SupplyChain, shared: SharedTerms) -> linopy.LinearExpression:
    """Cost of production, transport, tariffs, stocks, substitution and recycling minus the value served."""
    cost = chain["operating_cost"]
    transport = chain["transport_cost"] + chain["route_cost"] + chain["tariff"]
    off_diagonal = xr.DataArray(
        ~np.eye(len(chain.countries), dtype=bool),
        coords={"exporter": chain.countries, "importer": chain.countries},
        dims=("exporter", "importer"),
    )
    concentrate_transport = transport.sel(stage="mining", drop=True).max("element").where(off_diagonal, 0)
    costs = [
        (cost.sel(stage="mining", drop=True) * terms["Mining-production"]).sum(),
        (cost.sel(stage="separation", drop=True) * shared.separation_input).sum(),
        (cost.sel(stage="metal", drop=True) * terms["Metal-production"]).sum(),
        (cost.sel(stage="magnet", drop=True) * terms["Magnet-production"]).sum(),
        (concentrate_transport * terms["Concentrate-flow"]).sum(),
        (transport.sel(stage=list(TRADED_STAGES)) * terms["Flow"]).sum(),
        -(chain["willingness_to_pay"] * terms["Served"]).sum(),
    ]
    if terms.exists("Stock-level"):
        costs.append((chain["stock_holding_cost"] * terms["Stock-level"]).sum())
        costs.append((chain["stock_release_cost"].sel(stage=list(TRADED_STAGES)) * terms["Stock-release"]).sum())
    if terms.exists("Substitution-share"):
        # Substituted demand is met by another material: it earns the value of the lowest demand step.
        net_cost = chain["substitution_cost"] - chain["willingness_to_pay"].min("step")
        costs.append((net_cost * chain["demand"] * chain.period_length * terms["Substitution-share"]).sum())
    for name in ("Recycling-separation", "Recycling-metal"):
        if terms.exists(name):
            costs.append(chain["recycling_cost"] * terms[name].sum())
    if terms.exists("Calibration-supply"):
        costs.append((chain["calibration_cost"] * terms["Calibration-supply"]).sum())
    return _total(costs)
