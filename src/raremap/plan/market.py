"""What the market offers the importer in each scenario, computed with the full engine.

The planner's second stage is the importer's own part of the market: its mines, plants, buyers,
stocks and sticky imports, written as in the equilibrium (``raremap.model.equilibrium``), facing the
rest of the world at the terms the full engine found for that scenario. For every scenario the
planner

1. applies it to the plan's SupplyChain with ``scenario_market`` (the one function every engine uses),
2. solves the full equilibrium (``build_model``) on that chain, and
3. reads, for every flow into or out of the importer, what the rest of the world charges or pays for
   it: the flow's cost minus the shadow prices of every constraint that is not the importer's own
   (its partners' balances, their export rules, their sticky imports, tonnage quotas). By LP duality
   the importer's problem at these terms has the engine's own answer as a solution; a portfolio then
   changes only the importer's side. What it leaves out is the portfolio's feedback on world prices
   (the importer's new demand for metal, its plants' output offered abroad): the differential test
   (tests/plan) measures how much that matters against the full engine.

Everything is labelled by name: countries, stages, goods, sectors, scenarios (`draw 12`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import linopy
import numpy as np
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.equilibrium import build_model
from raremap.model.quiet import quiet_stdout
from raremap.model.solution import Solution, read_solution, solve_model
from raremap.model.supply_chain import SupplyChain
from raremap.scenario.spec import Scenario
from raremap.simulate.apply import apply_scenario
from raremap.simulate.market import scenario_market
from raremap.vocabulary import TRADED_STAGES

PARTNER = "partner"
"""The dimension of the importer's trading partners (the engine's exporter or importer on its edges)."""


@dataclass(frozen=True)
class EngineRun:
    """One full-engine solve: the chain the scenario runs on, the chain the LP was built on (with its
    run-out period where periods link), the solved model and its solution (every period)."""

    chain: SupplyChain
    model_chain: SupplyChain
    model: linopy.Model
    solution: Solution


def solve_market(chain: SupplyChain, scenario: Scenario) -> EngineRun:
    """`scenario_market` then the equilibrium LP, solved, with its run-out period.

    The simulator adds the run-out period where periods link; a portfolio's stocks always link them,
    so the planner's markets always have it (where nothing links periods it changes no other period).
    """
    market = scenario_market(chain, scenario)
    model_chain = market.with_run_out()
    model = build_model(model_chain)
    with quiet_stdout():
        solve_model(model)
    return EngineRun(market, model_chain, model, read_solution(model))


def _owned_rows(labels: xr.DataArray, importer: str) -> np.ndarray:
    """Which rows of a constraint family are the importer's own (its country or its imports)."""
    owned = xr.zeros_like(labels, dtype=bool)
    for dimension in ("country", "importer"):
        if dimension in labels.dims:
            owned = owned | (labels[dimension] == importer)
    return np.asarray(owned.broadcast_like(labels).values)


def terms_of_trade(model: linopy.Model, importer: str) -> np.ndarray:
    """Per variable label, its objective cost minus the shadow prices of every row that is not the importer's.

    For a flow into the importer this is what the rest of the world charges for one more tonne
    delivered (the exporter's price, transport, tariffs, the exporter's own-output rule, quotas);
    for a flow out, minus what the rest of the world pays for it.
    """
    size = int(model._xCounter)
    cost = np.zeros(size)
    labels, coefficients = model.objective.linear_terms()
    np.add.at(cost, labels, coefficients)
    for name in model.constraints:
        constraint = model.constraints[name]
        variables = constraint.vars.values
        duals = constraint.dual.values
        rest = ~_owned_rows(constraint.labels, importer) & np.isfinite(duals) & (constraint.labels.values >= 0)
        rows = np.broadcast_to(rest[..., None], variables.shape) & (variables >= 0)
        weights = np.broadcast_to(duals[..., None], variables.shape)
        np.add.at(cost, variables[rows], -constraint.coeffs.values[rows] * weights[rows])
    return cost


def _by_label(model: linopy.Model, name: str, values: np.ndarray) -> xr.DataArray:
    """Values per label laid out on a variable family's coordinates (NaN where an entry does not exist)."""
    labels = model.variables[name].labels
    data = np.where(labels.values >= 0, values[np.maximum(labels.values, 0)], np.nan)
    return xr.DataArray(data, coords=labels.coords, dims=labels.dims)


@dataclass(frozen=True)
class Boundary:
    """What the market offers the importer in one scenario (arrays without a scenario dimension).

    Periods are the model's: the horizon's periods and, where periods link, the run-out period.
    Tonnages are per period, money in USD per kg.
    """

    capacity: xr.DataArray  # [stage, period] t per period in service at the importer (incl. the market's investment)
    capacity_factor: xr.DataArray  # [stage, period] share of new capacity left by the scenario's disruptions
    demand: xr.DataArray  # [sector, period] t per period
    willingness_to_pay: xr.DataArray  # [sector, step] USD per kg
    substitution_rate: xr.DataArray  # [sector, period] share per period
    substitution_before: xr.DataArray  # [sector] share adopted before the first period
    import_cost: xr.DataArray  # [stage, partner, element, period] USD per kg delivered; NaN: no route
    import_upper: xr.DataArray  # [stage, partner, element, period] t per period (export controls)
    contract: xr.DataArray  # [stage, partner, element, period] t per period under term contracts
    route_withheld: xr.DataArray  # [stage, partner, element, period] t per period export restrictions keep off the importer's routes
    concentrate_cost: xr.DataArray  # [partner, period] USD per kg REO delivered; NaN: no route
    concentrate_upper: xr.DataArray  # [partner, period] t per period
    export_value: xr.DataArray  # [stage, element, period] USD per kg the best buyer abroad nets; NaN: none
    concentrate_export_value: xr.DataArray  # [period] USD per kg REO
    exports_banned: xr.DataArray  # [stage, element, period] the importer's own export bans
    shortfall: xr.DataArray  # [sector, period] the engine's shortfall of the importer (t per period), status quo
    imports: xr.DataArray  # [stage, partner, element, period] the engine's flows into the importer (t per period)
    exports: xr.DataArray  # [stage, element, period] the engine's flows out of the importer
    concentrate_imports: xr.DataArray  # [partner, period] the engine's concentrate into the importer
    concentrate_exports: xr.DataArray  # [period] the engine's concentrate out of the importer
    recycling_available: xr.DataArray  # [element, tier, period] t of metal per period the importer's recycling offers
    recycling_cost: xr.DataArray  # [tier] USD per kg of recycled metal


def boundary(run: EngineRun, importer: str, periods: Sequence[float], scenario: Scenario,
             base_chain: SupplyChain) -> Boundary:
    """The importer's terms of trade and own inputs in one solved scenario, over `periods` (model periods)."""
    chain, model, values = run.model_chain, run.model, run.solution.values
    _refuse_unsupported(chain, importer)
    adjusted = terms_of_trade(model, importer)
    flows = _by_label(model, "Flow", adjusted)
    concentrate = _by_label(model, "Concentrate-flow", adjusted)
    chain.years.sel(period=list(periods))
    chosen = {"period": list(periods)}
    into = flows.sel(importer=importer, drop=True).rename(exporter=PARTNER).drop_sel({PARTNER: importer}).sel(chosen)
    out_of = flows.sel(exporter=importer, drop=True).rename(importer=PARTNER).drop_sel({PARTNER: importer}).sel(chosen)
    upper = (chain["flow_upper"] * chain.years).sel(stage=list(TRADED_STAGES), period=list(periods))
    concentrate_upper = (chain["flow_upper"].sel(stage="mining", drop=True).min("element") * chain.years).sel(chosen)
    bans = (upper.sel(exporter=importer, drop=True) <= 0).drop_sel(importer=importer).all("importer")
    new_capacity = values["New-capacity"].sel(country=importer, drop=True)
    before = [period for period in chain.periods if period < periods[0]]
    substitution_before = (values["Substitution-share"].sel(country=importer, period=before[-1], drop=True)
                           if before else xr.zeros_like(chain["substitution_cost"].sel(country=importer, drop=True)))
    shortfall = (chain["demand"] * chain.years).sel(country=importer, drop=True) - values["Served"].sel(
        country=importer, drop=True).sum("step")
    return Boundary(
        capacity=((chain["capacity"].sel(country=importer, drop=True) + new_capacity) * chain.years).sel(chosen),
        capacity_factor=capacity_factor(base_chain, scenario, importer).reindex(period=list(periods), method="ffill"),
        demand=(chain["demand"].sel(country=importer, drop=True) * chain.years).sel(chosen),
        willingness_to_pay=chain["willingness_to_pay"].sel(country=importer, drop=True),
        substitution_rate=(chain["substitution_rate"].sel(country=importer, drop=True) * chain.years).sel(chosen),
        substitution_before=substitution_before,
        import_cost=into,
        import_upper=upper.sel(importer=importer, drop=True).rename(exporter=PARTNER).drop_sel({PARTNER: importer}),
        contract=(chain["contract"] * chain.years).sel(importer=importer, drop=True).rename(exporter=PARTNER).drop_sel(
            {PARTNER: importer}).sel(stage=list(TRADED_STAGES), period=list(periods)),
        route_withheld=(chain["route_withheld"] * chain.years).sel(importer=importer, drop=True).rename(exporter=PARTNER).drop_sel(
            {PARTNER: importer}).sel(stage=list(TRADED_STAGES), period=list(periods)),
        concentrate_cost=concentrate.sel(importer=importer, drop=True).rename(exporter=PARTNER).drop_sel(
            {PARTNER: importer}).sel(chosen),
        concentrate_upper=concentrate_upper.sel(importer=importer, drop=True).rename(exporter=PARTNER).drop_sel(
            {PARTNER: importer}),
        export_value=-out_of.where(upper.sel(exporter=importer, drop=True).rename(importer=PARTNER).drop_sel(
            {PARTNER: importer}) > 0).min(PARTNER),
        concentrate_export_value=-concentrate.sel(exporter=importer, drop=True).drop_sel(importer=importer).where(
            concentrate_upper.sel(exporter=importer, drop=True).drop_sel(importer=importer) > 0).sel(chosen).min("importer"),
        exports_banned=bans.transpose("stage", "element", "period"),
        shortfall=shortfall.sel(chosen),
        imports=values["Flow"].sel(importer=importer, drop=True).rename(exporter=PARTNER).drop_sel(
            {PARTNER: importer}).sel(chosen),
        exports=values["Flow"].sel(exporter=importer, drop=True).drop_sel(importer=importer).sum("importer").sel(chosen),
        concentrate_imports=values["Concentrate-flow"].sel(importer=importer, drop=True).rename(exporter=PARTNER).drop_sel(
            {PARTNER: importer}).sel(chosen),
        concentrate_exports=values["Concentrate-flow"].sel(exporter=importer, drop=True).drop_sel(importer=importer).sum(
            "importer").sel(chosen),
        recycling_available=(chain["recycling_available"].sel(country=importer, drop=True) * chain.years).sel(chosen),
        recycling_cost=chain["recycling_cost"],
    )


def _refuse_unsupported(chain: SupplyChain, importer: str) -> None:
    """The importer's side the planner does not model yet: stocks or calibration supply of its own."""
    present = {
        "stocks": float(chain["stock_initial"].sel(country=importer).sum() + chain["stock_refill"].sel(country=importer).sum()),
        "calibration supply": float(chain["calibration_supply"].sel(country=importer).sum()),
    }
    found = [name for name, value in present.items() if value > 0]
    if found:
        raise RaremapError(
            f"the plan's base scenario gives {importer} {', '.join(found)} of its own; the planner does not model "
            "them yet: remove them from the base scenario (or plan them as options)"
        )


def _probe(chain: SupplyChain, country: str, capacity: float) -> SupplyChain:
    """The chain cut down to one country with every capacity set to `capacity`: a quick probe of apply_scenario."""
    one = SupplyChain(chain.data.sel(country=[country], exporter=[country], importer=[country]))
    return one.replace(capacity=xr.full_like(one["capacity"], capacity))


def capacity_factor(chain: SupplyChain, scenario: Scenario, country: str) -> xr.DataArray:
    """Share of a plant's capacity at `country` left in each period by the scenario's disruptions [stage, period].

    Computed by applying the scenario's disruptions to a chain whose every capacity is one, so it is
    exactly what `apply_scenario` does to new capacity there.
    """
    own = tuple(item for item in scenario.disruptions if item.country == country)
    probe = Scenario(name="disruptions", importer=country, periods=scenario.periods, disruptions=own)
    return apply_scenario(_probe(chain, country, 1.0), probe)["capacity"].sel(country=country, drop=True)


def capacity_added(chain: SupplyChain, country: str, stage: str, online_year: int, ramp_up_years: int) -> xr.DataArray:
    """Share of one tonne a year of new capacity in service in each period [period], as `apply_scenario` ramps it."""
    from raremap.scenario.spec import CapacityChange

    change = CapacityChange(country=country, stage=stage, capacity_t=1.0, online_year=online_year,  # type: ignore[arg-type]
                            ramp_up_years=ramp_up_years)
    probe = Scenario(name="probe", importer=country, capacity_changes=(change,))
    return apply_scenario(_probe(chain, country, 0.0), probe)["capacity"].sel(country=country, stage=stage, drop=True)


def stack(boundaries: dict[str, Boundary]) -> Boundary:
    """Boundaries of several scenarios on one `scenario` dimension (labelled by the scenarios' names)."""
    names = list(boundaries)
    fields = Boundary.__dataclass_fields__
    joined = {}
    for field in fields:
        arrays = [getattr(boundaries[name], field) for name in names]
        joined[field] = xr.concat(arrays, dim=xr.DataArray(names, dims="scenario", name="scenario"), join="outer",
                                  fill_value=np.nan if field in ("import_cost", "concentrate_cost", "export_value",
                                                                 "concentrate_export_value") else 0.0)
    return Boundary(**joined)



@dataclass(frozen=True)
class ImporterSide:
    """The importer's technology and buyers as the plan's SupplyChain has them (the same in every scenario).

    `periods` are the model's periods (the horizon, and the run-out period where periods link);
    `reported` the horizon's periods, over which results are given.
    """

    importer: str
    periods: list[float]
    reported: list[float]
    years: xr.DataArray  # [period]
    separated: list[str]
    products: list[str]
    operating_cost: xr.DataArray  # [stage] USD per kg of output (REO fed at separation)
    own_composition: xr.DataArray  # [element] share of each element in the importer's ore
    partner_composition: xr.DataArray  # [partner, element] in each partner's ore
    metal_factor: xr.DataArray  # [element] t metal per t oxide
    scrap_share: float  # share of the metal put into magnets that returns as oxide (process scrap)
    fixed_recipe: xr.DataArray  # [product, element] t metal per t magnet outside the NdPr pool
    pool_content: xr.DataArray  # [product] t of pool metal per t magnet
    pool_floor: xr.DataArray  # [product, element] least t of a pool member per t magnet
    pool_members: list[str]
    bundle: xr.DataArray  # [sector, element] goods per unit of a sector's demand
    step_share: xr.DataArray  # [step]
    substitution_cost: xr.DataArray  # [sector] USD per kg
    holding_cost: xr.DataArray  # [element] USD per kg and year
    breach_cost: xr.DataArray  # [element] USD per kg of a contract not delivered
    route_share: xr.DataArray  # [stage, partner, element] each partner's base-year share of the importer's imports
    route_movable: xr.DataArray  # [stage, element, period] share of imports that may have moved to new suppliers
    route_sticky: xr.DataArray  # [stage, element] where the importer's sourcing is sticky
    reexport_allowed: xr.DataArray  # [stage, element, period] where the importer may export what it did not make
    reference_price: xr.DataArray  # [element] base-year price, USD per kg
    finishing_cost: xr.DataArray  # [element] USD per kg of separated oxide sold (co-products in surplus)
    thorium_per_reo: float


def importer_side(run: EngineRun, importer: str, reported: Sequence[float]) -> ImporterSide:
    """The importer's side of a solved run's model chain, over the horizon (and run-out) periods."""
    chain = run.model_chain
    periods = [period for period in chain.periods if period >= reported[0] - 1e-9]
    separated, products = chain.separated_elements, chain.magnet_products
    recipe = chain["recipe"].sel(element=products).rename(element="product", ingredient="element")
    pool = chain["magnet_pool"].rename(ingredient="element")
    base = chain["base_flow"].sel(stage=list(TRADED_STAGES), importer=importer, drop=True).rename(exporter=PARTNER)
    total = base.sum(PARTNER)
    growth = chain["route_growth"].sel(stage=list(TRADED_STAGES), importer=importer, drop=True)
    first = chain.periods[0]
    composition = chain["composition"].sel(element=separated)
    return ImporterSide(
        importer=importer,
        periods=periods,
        reported=[float(period) for period in reported],
        years=chain.years.sel(period=periods),
        separated=separated,
        products=products,
        operating_cost=chain["operating_cost"].sel(country=importer, drop=True),
        own_composition=composition.sel(country=importer, drop=True),
        partner_composition=composition.rename(country=PARTNER).drop_sel({PARTNER: importer}),
        metal_factor=chain["metal_factor"].sel(element=separated),
        scrap_share=float(chain["scrap_share"].sel(country=importer)),
        fixed_recipe=(recipe * (1 - pool)).reindex(element=separated, fill_value=0.0),
        pool_content=(recipe * pool).sum("element"),
        pool_floor=(recipe * chain["pool_floor"].rename(ingredient="element")).reindex(element=separated, fill_value=0.0),
        pool_members=[str(element) for element in pool["element"].values[pool.values > 0]],
        bundle=chain["bundle"].sel(country=importer, drop=True),
        step_share=chain["step_share"],
        substitution_cost=chain["substitution_cost"].sel(country=importer, drop=True),
        holding_cost=chain["stock_holding_cost"],
        breach_cost=chain["contract_breach_cost"],
        route_share=(base / total.where(total > 0)).fillna(0.0).drop_sel({PARTNER: importer}),
        route_movable=(growth * (chain.data["period"] + chain.years - first)).sel(period=periods),
        route_sticky=xr.apply_ufunc(np.isfinite, growth) & (total > 0),
        reexport_allowed=chain["reexport_allowed"].sel(country=importer, stage=list(TRADED_STAGES), period=periods, drop=True) > 0,
        reference_price=chain["reference_price"],
        finishing_cost=chain["finishing_cost"].sel(element=separated),
        thorium_per_reo=float(chain["thorium_per_reo"].sel(country=importer)),
    )
