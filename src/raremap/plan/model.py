"""The extensive form of the two-stage stochastic program, built once with linopy on a `scenario` dimension.

First stage (no scenario index): `Build[unit, start]` (t/yr of domestic capacity committed in a year),
`Contract[option, start]` (t/yr contracted from a partner), `Stock[stockpile]` (t bought at the
horizon's start). Second stage, per scenario and period: the importer's own part of the market,
written as in the equilibrium (``raremap.model.equilibrium``) and with its constraint names
(`Mining-balance`, `Magnet-capacity-upper`, `Route-share-upper`, `Contract-lower`, ...), facing the rest
of the world at the terms the full engine found in that scenario (``raremap.plan.market``). The
portfolio enters only there: builds add capacity (ramping up after their lead time and slip, and
losing what the scenario's disruptions take), contracts add to the term contracts on the partner's
edge, stockpiles are stocks the importer releases to its own buyers.

Risk: `Threshold` and `Excess[scenario]` give the Rockafellar-Uryasev CVaR of each scenario's loss
(the importer's net cost of supply plus the value its buyers lose to shortfall, at their own
willingness to pay). Because the CVaR is of the very loss the market minimises, every scenario's
second stage still behaves as the market does, whatever lambda. Money is in USD million; tonnes per
period inside the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import linopy
import numpy as np
import xarray as xr

from raremap.model.equilibrium import Terms
from raremap.model.supply_chain import SupplyChain
from raremap.plan.market import PARTNER, Boundary, ImporterSide, capacity_added
from raremap.plan.options import Options
from raremap.plan.scenarios import Draw
from raremap.vocabulary import STAGES, TRADED_STAGES

USUAL = 1e-3
"""USD per kg by which the importer prefers the trade it has in the engine's own solution to trade beyond it.

Where the importer's own demand slice sets its price, the engine's terms make it indifferent to how
much of that slice it buys (any amount costs exactly what the slice is worth); the engine's answer
is one of those amounts. A tonne traded as in the engine's solution costs this much less, a tonne
beyond it this much more, so the status quo reproduces the engine's answer and any portfolio moves
away from it only for a real gain (a kilogram at a tenth of a cent changes no decision)."""
THOUSAND = 1000.0
"""USD per kg x t = thousand USD; divide by this for USD million."""
MILLION = 1e6
"""USD per t/yr x t/yr = USD; divide by this for USD million."""


@dataclass(frozen=True)
class Restrictions:
    """Which options a solve may use, and how (the strategies, the frontier and evaluations differ only here).

    `offtakes`, `builds`, `stockpiles`: names allowed (None: all). `signed`: technology partnerships
    signed. `fixed`: first-stage values to hold (evaluating a chosen portfolio on other scenarios).
    `keep_at_home`: stages whose domestic output may not be exported (None: the plan's).
    """

    offtakes: frozenset[str] | None = None
    builds: frozenset[str] | None = None
    stockpiles: frozenset[str] | None = None
    signed: frozenset[str] = frozenset()
    caps: bool = True
    budget: bool = True
    risk_weight: float | None = None
    keep_at_home: tuple[str, ...] | None = None
    fixed: dict[str, xr.DataArray] = field(default_factory=dict)


@dataclass(frozen=True)
class FirstStage:
    """The options' data on named coordinates (unit, option, stockpile, start)."""

    build_stage: xr.DataArray  # [unit] the stage each build adds capacity to
    build_share: xr.DataArray  # [unit, start, scenario, period] capacity in service per t/yr committed
    build_allowed: xr.DataArray  # [unit, start]
    build_capex: xr.DataArray  # [unit] USD per t/yr
    build_charged_years: xr.DataArray  # [start] years of capital charge from a start to the horizon's end
    build_maximum: xr.DataArray  # [unit]
    build_minimum: xr.DataArray  # [unit]
    build_thorium: xr.DataArray  # [unit] t ThO2 per t/yr (mining)
    thorium_limit: xr.DataArray  # [unit] t ThO2 per year (inf: none)
    offtake_stage: xr.DataArray  # [option]
    offtake_partner: xr.DataArray  # [option]
    offtake_mix: xr.DataArray  # [option, element]
    offtake_active: xr.DataArray  # [option, start, period] 1 where a contract signed in `start` is in force
    offtake_allowed: xr.DataArray  # [option, start]
    offtake_reservation: xr.DataArray  # [option] USD per kg and year contracted
    offtake_capex: xr.DataArray  # [option] USD per t/yr (joint ventures)
    offtake_maximum: xr.DataArray
    offtake_minimum: xr.DataArray
    stock_mix: xr.DataArray  # [stockpile, stage, element] t of each good per t of the stockpile
    stock_price: xr.DataArray  # [stockpile] USD per kg
    stock_release_cost: xr.DataArray  # [stage, element] USD per kg (the release price)
    stock_release_share: xr.DataArray  # [stage, element] largest share released per year
    stock_maximum: xr.DataArray
    stock_minimum: xr.DataArray
    technology_cost: float  # USD million of the partnerships signed
    annuity: float


def _kept(side: ImporterSide, kept: dict[str, tuple[str, ...]]) -> xr.DataArray:
    """[stage, element] the goods the importer keeps at home (export-banned from the horizon's start)."""
    goods = side.reference_price["element"].values
    rows = [[str(good) in kept.get(stage, ()) for good in goods] for stage in TRADED_STAGES]
    return xr.DataArray(np.array(rows, dtype=bool), coords={"stage": list(TRADED_STAGES), "element": goods},
                        dims=("stage", "element"))


_RAMPS: dict[tuple[int, str, str, int, int], np.ndarray] = {}
"""Ramps already probed, by chain identity, importer, stage, online year and ramp-up years."""


def ramp(chain: SupplyChain, side: ImporterSide, stage: str, online: int, ramp_up_years: int) -> np.ndarray:
    """Share of one t/yr committed that is in service in each model period (as `apply_scenario` ramps it)."""
    key = (id(chain), side.importer, stage, online, ramp_up_years)
    if key not in _RAMPS:
        added = capacity_added(chain, side.importer, stage, online, ramp_up_years)
        _RAMPS[key] = added.reindex(period=side.periods, method="ffill").values
    return _RAMPS[key]


def first_stage(options: Options, draws: Sequence[Draw], side: ImporterSide, boundary: Boundary,
                chain: SupplyChain, restrictions: Restrictions) -> FirstStage:
    """The options' arrays for one solve: only the allowed options, builds as the signed partnerships leave them."""
    starts = [int(year) for year in side.reported]
    start = xr.DataArray(starts, coords={"start": starts}, dims="start")
    period = xr.DataArray(side.periods, coords={"period": side.periods}, dims="period")
    builds = [build.signed(restrictions.signed) for build in options.builds
              if restrictions.builds is None or build.name in restrictions.builds]
    offtakes = [item for item in options.offtakes if restrictions.offtakes is None or item.name in restrictions.offtakes]
    stockpiles = [item for item in options.stockpiles
                  if restrictions.stockpiles is None or item.name in restrictions.stockpiles]
    units = {"unit": [build.name for build in builds]}
    shares = np.zeros((len(builds), len(starts), len(draws), len(side.periods)))
    for row, build in enumerate(builds):
        factor = boundary.capacity_factor.sel(stage=build.spec.stage).transpose("scenario", "period").values
        for column, year in enumerate(starts):
            for index, draw in enumerate(draws):
                online = year + build.lead_time_years + draw.slips.get(build.name, 0)
                shares[row, column, index] = ramp(chain, side, build.spec.stage, online, build.ramp_up_years) * factor[index]
    options_coords = {"option": [item.name for item in offtakes]}
    lead = xr.DataArray([float(item.spec.lead_time_years) for item in offtakes], coords=options_coords, dims="option")
    goods = side.reference_price["element"].values
    stock_names = {"stockpile": [item.name for item in stockpiles]}
    traded = {"stage": list(TRADED_STAGES), "element": goods}
    stock_mix = xr.DataArray(0.0, coords={**stock_names, **traded}, dims=("stockpile", "stage", "element")).copy()
    release_cost = xr.DataArray(0.0, coords=traded, dims=("stage", "element")).copy()
    release_share = release_cost.copy()
    for item in stockpiles:
        mix = item.mix.reindex(element=goods, fill_value=0.0)
        covered = mix > 0
        at = {"stage": item.spec.stage}
        stock_mix.loc[{"stockpile": item.name, **at}] = mix
        release_cost.loc[at] = xr.where(covered, item.release_usd_per_kg.reindex(element=goods, fill_value=0.0),
                                        release_cost.loc[at])
        release_share.loc[at] = xr.where(covered, item.spec.max_release_share_per_year, release_share.loc[at])
    signed = [item for item in options.technology if item.name in restrictions.signed]

    def per_unit(values: list[float]) -> xr.DataArray:
        return xr.DataArray(np.asarray(values, dtype=float), coords=units, dims="unit")

    def per_option(values: list[float]) -> xr.DataArray:
        return xr.DataArray(np.asarray(values, dtype=float), coords=options_coords, dims="option")

    def per_stockpile(values: list[float]) -> xr.DataArray:
        return xr.DataArray(np.asarray(values, dtype=float), coords=stock_names, dims="stockpile")

    return FirstStage(
        build_stage=xr.DataArray([build.spec.stage for build in builds], coords=units, dims="unit"),
        build_share=xr.DataArray(shares, coords={**units, "start": starts, "scenario": [draw.name for draw in draws],
                                                 "period": side.periods}, dims=("unit", "start", "scenario", "period")),
        build_allowed=(start >= per_unit([build.earliest_start for build in builds])).transpose("unit", "start"),
        build_capex=per_unit([build.capex_usd_per_tpa for build in builds]),
        build_charged_years=(starts[-1] + 1 - start).astype(float),
        build_maximum=per_unit([build.spec.maximum_t for build in builds]),
        build_minimum=per_unit([build.spec.minimum_t for build in builds]),
        build_thorium=per_unit([build.thorium_per_t for build in builds]),
        thorium_limit=per_unit([np.inf if build.spec.thorium_limit_t is None else build.spec.thorium_limit_t
                                for build in builds]),
        offtake_stage=xr.DataArray([item.spec.stage for item in offtakes], coords=options_coords, dims="option"),
        offtake_partner=xr.DataArray([item.spec.partner for item in offtakes], coords=options_coords, dims="option"),
        offtake_mix=xr.DataArray(np.array([item.mix.reindex(element=goods, fill_value=0.0).values for item in offtakes]
                                          ).reshape(len(offtakes), len(goods)),
                                 coords={**options_coords, "element": goods}, dims=("option", "element")),
        offtake_active=(period >= start + lead).astype(float).transpose("option", "start", "period"),
        offtake_allowed=(start >= per_option([item.earliest_start for item in offtakes])).transpose("option", "start"),
        offtake_reservation=per_option([item.reservation_usd_per_kg_year for item in offtakes]),
        offtake_capex=per_option([item.capex_usd_per_tpa for item in offtakes]),
        offtake_maximum=per_option([item.spec.maximum_t for item in offtakes]),
        offtake_minimum=per_option([item.spec.minimum_t for item in offtakes]),
        stock_mix=stock_mix,
        stock_price=per_stockpile([item.price_usd_per_kg for item in stockpiles]),
        stock_release_cost=release_cost,
        stock_release_share=release_share,
        stock_maximum=per_stockpile([item.spec.maximum_t for item in stockpiles]),
        stock_minimum=per_stockpile([item.spec.minimum_t for item in stockpiles]),
        technology_cost=sum(item.cost_usd for item in signed) / MILLION,
        annuity=options.annuity,
    )


@dataclass
class PlanModel:
    """One built planning LP and the expressions the results are read from (USD million, per scenario)."""

    model: linopy.Model
    side: ImporterSide
    boundary: Boundary
    stage: FirstStage
    weight: xr.DataArray  # [scenario] probabilities
    risk_weight: float
    alpha: float
    money: linopy.LinearExpression  # [scenario, period] the importer's net spending on supply in the second stage
    lost_value: linopy.LinearExpression  # [scenario, period] value its buyers lose, without the constant below
    lost_value_constant: xr.DataArray  # [scenario, period] value of all demand (lost value = constant + expression)
    commitments: linopy.LinearExpression  # first-stage cost charged in the objective (+ stage.technology_cost)
    outlay: linopy.LinearExpression  # capital spent (what the budget limits; + stage.technology_cost)


def build_plan_model(side: ImporterSide, boundary: Boundary, stage: FirstStage, weight: xr.DataArray,
                     risk_weight: float, alpha: float, budget: float | None, caps: tuple[float, float] | None,
                     need: xr.DataArray, blocs: dict[str, frozenset[str]], kept: dict[str, tuple[str, ...]],
                     fixed: dict[str, xr.DataArray]) -> PlanModel:
    """The extensive-form LP: minimise commitments + expected loss + risk_weight x CVaR_alpha(loss)."""
    model = linopy.Model(force_dim_names=True)
    terms = Terms(model)
    _first_stage_variables(model, stage)
    exists = _second_stage_variables(model, side, boundary, stage, kept)
    capacity = _capacity_constraints(model, terms, side, boundary, stage, exists)
    separation_output = _separation_output(terms, side)  # in the balance and, for finishing costs, the loss
    _balance_constraints(model, terms, side, boundary, exists, capacity, separation_output)
    _demand_constraints(model, terms, side, boundary)
    _trade_constraints(model, terms, side, boundary, stage)
    _stock_constraints(model, terms, side, stage)
    _recycling_constraints(model, terms, boundary)
    _first_stage_constraints(model, stage, side, budget, caps, need, blocs, fixed)
    money, lost, constant = _loss(terms, side, boundary, stage, separation_output)
    commitments, outlay = _commitments(model, stage)
    loss = (money + lost).sum("period")
    threshold = model.add_variables(name="Threshold")
    excess = model.add_variables(lower=xr.zeros_like(weight), name="Excess")
    model.add_constraints(excess - loss + threshold >= constant.sum("period"), name="CVaR-excess")
    expected = (loss * weight).sum()
    cvar = threshold + (excess * weight).sum() / (1.0 - alpha)
    model.add_objective(commitments + expected + risk_weight * cvar)
    return PlanModel(model, side, boundary, stage, weight, risk_weight, alpha, money, lost, constant, commitments, outlay)


def _first_stage_variables(model: linopy.Model, stage: FirstStage) -> None:
    model.add_variables(xr.zeros_like(stage.build_allowed, dtype=float), name="Build", mask=stage.build_allowed)
    model.add_variables(xr.zeros_like(stage.offtake_allowed, dtype=float), name="Contract", mask=stage.offtake_allowed)
    model.add_variables(xr.zeros_like(stage.stock_maximum), name="Stock")


def _add(model: linopy.Model, name: str, mask: xr.DataArray, upper: xr.DataArray | float = np.inf,
         dims: Sequence[str] | None = None) -> None:
    """A non-negative variable family on the mask's coordinates (entries where the mask is False do not exist)."""
    mask = mask.transpose(*dims) if dims is not None else mask
    lower = xr.zeros_like(mask, dtype=float)
    bound = (lower + upper).transpose(*mask.dims) if isinstance(upper, xr.DataArray) else lower + upper
    model.add_variables(lower, bound, name=name, mask=mask)


def _second_stage_variables(model: linopy.Model, side: ImporterSide, boundary: Boundary, stage: FirstStage,
                            kept: dict[str, tuple[str, ...]]) -> dict[str, xr.DataArray]:
    """The importer's second-stage variables per scenario and period; returns where plants exist per stage."""
    built = {name: bool((stage.build_stage == name).any()) for name in STAGES}
    exists = {name: bool((boundary.capacity.sel(stage=name) > 0).any()) or built[name] for name in STAGES}
    grid = xr.ones_like(boundary.capacity.sel(stage="mining", drop=True), dtype=bool)  # [scenario, period]
    goods = side.reference_price["element"]
    separated = goods.isin(side.separated)
    products = goods.isin(side.products)
    in_recipe = goods.isin(side.pool_members) | (side.fixed_recipe.sum("product") > 0).reindex(element=goods.values,
                                                                                                fill_value=False)
    edges = ("scenario", "stage", PARTNER, "element", "period")
    _add(model, "Mining-production", grid & exists["mining"])
    _add(model, "Concentrate-use", grid & exists["mining"] & exists["separation"])
    _add(model, "Concentrate-export", grid & exists["mining"] & boundary.concentrate_export_value.notnull())
    _add(model, "Concentrate-export-usual", grid & exists["mining"] & boundary.concentrate_export_value.notnull()
         & (boundary.concentrate_exports > 0), boundary.concentrate_exports)
    _add(model, "Concentrate-import", boundary.concentrate_cost.notnull() & exists["separation"],
         boundary.concentrate_upper, ("scenario", PARTNER, "period"))
    _add(model, "Concentrate-import-usual", boundary.concentrate_cost.notnull() & exists["separation"]
         & (boundary.concentrate_imports > 0), boundary.concentrate_imports, ("scenario", PARTNER, "period"))
    # As in the engine, a magnet plant that recovers process scrap, and a recycler of retired magnets, hold
    # oxide of their own to sell or leave.
    recycles = (boundary.recycling_available > 0).any(["tier", "period"]).reindex(element=goods.values, fill_value=False)
    holds_oxide = recycles | (exists["separation"] or (exists["magnet"] and side.scrap_share > 0))
    _add(model, "Separation-surplus", (grid & separated & holds_oxide).sel(element=side.separated),
         dims=("scenario", "element", "period"))
    _add(model, "Import", boundary.import_cost.notnull(), boundary.import_upper, edges)
    _add(model, "Import-usual", boundary.import_cost.notnull() & (boundary.imports > 0), boundary.imports, edges)
    makes = xr.concat([separated & holds_oxide, in_recipe & separated & exists["metal"], products & exists["magnet"]],
                      dim=xr.DataArray(list(TRADED_STAGES), dims="stage", name="stage"))
    exporting = boundary.export_value.notnull() & ~boundary.exports_banned & makes & ~_kept(side, kept)
    _add(model, "Export", exporting, dims=("scenario", "stage", "element", "period"))
    _add(model, "Export-usual", exporting & (boundary.exports > 0), boundary.exports, ("scenario", "stage", "element", "period"))
    _add(model, "Metal-production", grid & in_recipe & separated & exists["metal"], dims=("scenario", "element", "period"))
    _add(model, "Magnet-production", grid & products & exists["magnet"], dims=("scenario", "element", "period"))
    _add(model, "Magnet-metal-use", grid & goods.isin(side.pool_members) & exists["magnet"],
         dims=("scenario", "element", "period"))
    buyers = (boundary.demand > 0) & (boundary.willingness_to_pay > 0) & (side.step_share > 0)
    _add(model, "Served", buyers, side.step_share * boundary.demand, ("scenario", "sector", "step", "period"))
    substituting = (boundary.substitution_rate > 0).any("period") & (boundary.demand > 0).any("period")
    _add(model, "Substitution-share", substituting & grid, 1.0, ("scenario", "sector", "period"))
    sticky = side.route_sticky & boundary.import_cost.notnull()
    _add(model, "Route-imports", sticky.any(PARTNER), dims=("scenario", "stage", "element", "period"))
    _add(model, "Route-new", sticky, dims=edges)
    contracted_edges = (boundary.contract > 0) | _offtake_edges(stage, boundary)
    _add(model, "Contract-breach", contracted_edges & boundary.import_cost.notnull(), dims=edges)
    offered = boundary.recycling_available > 0
    _add(model, "Recycling-supply", offered, boundary.recycling_available, ("scenario", "element", "tier", "period"))
    _add(model, "Recycling-share", offered.any("element"), 1.0, ("scenario", "tier", "period"))
    stocked = (stage.stock_mix > 0).any("stockpile")
    _add(model, "Stock-level", grid & stocked, dims=("scenario", "stage", "element", "period"))
    _add(model, "Stock-release", grid & stocked, dims=("scenario", "stage", "element", "period"))
    return {name: xr.DataArray(value) for name, value in exists.items()}


def _offtake_edges(stage: FirstStage, boundary: Boundary) -> xr.DataArray:
    """[stage, partner, element] edges an offtake of the plan may add a contract to."""
    edges = xr.zeros_like(boundary.import_cost.any(["scenario", "period"]))  # [stage, partner, element]
    for option in stage.offtake_stage["option"].values:
        goods = xr.DataArray(stage.offtake_mix.sel(option=option).values > 0, coords={"element": stage.offtake_mix["element"].values},
                             dims="element")
        where = ((edges["stage"] == str(stage.offtake_stage.sel(option=option).values))
                 & (edges[PARTNER] == str(stage.offtake_partner.sel(option=option).values)) & goods)
        edges = edges | where
    return edges


def _on_options(variable: linopy.Variable, stage: FirstStage) -> linopy.LinearExpression:
    """A second-stage family [.., stage, partner, ..] picked at each offtake's own edge [.., option, ..]."""
    picked = variable.sel(stage=stage.offtake_stage, partner=stage.offtake_partner)
    present = picked.fillna(0)
    assert isinstance(present, linopy.LinearExpression)
    return present


def contracted(terms: Terms, stage: FirstStage) -> linopy.LinearExpression:
    """t/yr under each offtake in force in each period [option, period]."""
    return (terms["Contract"] * stage.offtake_active).sum("start")


def _capacity_constraints(model: linopy.Model, terms: Terms, side: ImporterSide, boundary: Boundary,
                          stage: FirstStage, exists: dict[str, xr.DataArray]) -> dict[str, linopy.LinearExpression]:
    """Output within the capacity in service plus the plan's builds as they ramp up (names as in the equilibrium)."""
    outputs = {
        "mining": terms["Mining-production"],
        "separation": _total([terms["Concentrate-use"], terms["Concentrate-import"].sum(PARTNER)]),
        "metal": terms["Metal-production"].sum("element"),
        "magnet": terms["Magnet-production"].sum("element"),
    }
    for name, output in outputs.items():
        if not bool(exists[name]):
            continue
        parts = [output]
        units = stage.build_stage == name
        if bool(units.any()):
            share = stage.build_share.where(units, 0.0) * side.years
            parts.append(-(terms["Build"] * share).sum(["unit", "start"]))
        model.add_constraints(_total(parts) <= boundary.capacity.sel(stage=name, drop=True),
                              name=f"{name.capitalize()}-capacity-upper")
    return outputs


def _used(terms: Terms, side: ImporterSide, goods: list[str]) -> linopy.LinearExpression:
    """Goods the importer's buyers take [scenario, element, period]: bundle x demand served."""
    return (side.bundle.sel(element=goods) * terms["Served"].sum("step")).sum("sector")


def _separation_output(terms: Terms, side: ImporterSide) -> linopy.LinearExpression:
    """Oxide the importer separates from its own and imported concentrate, and recovers from its magnet
    scrap and retired magnets."""
    separated = side.separated
    made = terms["Magnet-production"].sel(element=side.products).rename(element="product")
    metal_in = _total([(side.fixed_recipe * made).sum("product"), terms["Magnet-metal-use"].sel(element=separated)])
    return _total([side.own_composition * terms["Concentrate-use"],
                   (side.partner_composition * terms["Concentrate-import"]).sum(PARTNER),
                   metal_in * (side.scrap_share / side.metal_factor),
                   _recycled(terms, side) / side.metal_factor])


def _balance_constraints(model: linopy.Model, terms: Terms, side: ImporterSide, boundary: Boundary,
                         exists: dict[str, xr.DataArray], outputs: dict[str, linopy.LinearExpression],
                         separation_output: linopy.LinearExpression) -> None:
    """Every good's balance at the importer, and the NdPr pool of its magnet plants (as in the equilibrium)."""
    separated, products = side.separated, side.products
    imports, exports, release = terms["Import"].sum(PARTNER), terms["Export"], terms["Stock-release"]
    model.add_constraints(
        _total([terms["Mining-production"], -terms["Concentrate-use"], -terms["Concentrate-export"]]) == 0,
        name="Mining-balance")
    made = terms["Magnet-production"].sel(element=products).rename(element="product")
    model.add_constraints(_total([
        separation_output,
        imports.sel(stage="separation", element=separated, drop=True),
        -exports.sel(stage="separation", element=separated, drop=True),
        release.sel(stage="separation", element=separated, drop=True),
        -terms["Metal-production"].sel(element=separated) / side.metal_factor,
        -_used(terms, side, separated),
        -terms["Separation-surplus"],
    ]) == 0, name="Separation-balance")
    priced = (model.variables["Separation-surplus"].labels >= 0) & (side.finishing_cost > 0)
    if bool(priced.any()):  # as in the equilibrium: only oxide it made may be left unsold
        model.add_constraints(_total([terms["Separation-surplus"], -separation_output]) <= 0,
                              name="Separation-surplus-upper", mask=priced)
    model.add_constraints(_total([
        terms["Metal-production"].sel(element=separated),
        imports.sel(stage="metal", element=separated, drop=True),
        -exports.sel(stage="metal", element=separated, drop=True),
        release.sel(stage="metal", element=separated, drop=True),
        -(side.fixed_recipe * made).sum("product"),
        -terms["Magnet-metal-use"].sel(element=separated),
    ]) == 0, name="Metal-balance")
    model.add_constraints(_total([
        terms["Magnet-production"].sel(element=products),
        imports.sel(stage="magnet", element=products, drop=True),
        -exports.sel(stage="magnet", element=products, drop=True),
        release.sel(stage="magnet", element=products, drop=True),
        -_used(terms, side, products),
    ]) == 0, name="Magnet-balance")
    if bool(exists["magnet"]) and side.pool_members:
        members = side.pool_members
        model.add_constraints(
            terms["Magnet-metal-use"].sel(element=members).sum("element") - (side.pool_content * made).sum("product") == 0,
            name="Magnet-pool-balance")
        floor = side.pool_floor.sel(element=members)
        model.add_constraints(terms["Magnet-metal-use"].sel(element=members) - (floor * made).sum("product") >= 0,
                              name="Magnet-recipe-lower", mask=(floor > 0).any("product"))
    own = {"separation": separation_output, "metal": terms["Metal-production"].sel(element=separated),
           "magnet": terms["Magnet-production"].sel(element=products)}
    for name, output in own.items():
        goods = products if name == "magnet" else separated
        restricted = ~side.reexport_allowed.sel(stage=name, element=goods, drop=True)
        model.add_constraints(exports.sel(stage=name, element=goods, drop=True) - output <= 0,
                              name=f"{name.capitalize()}-export-own-output-upper", mask=restricted)


def _recycled(terms: Terms, side: ImporterSide) -> linopy.LinearExpression:
    """Metal held by the oxide the importer's recycling recovers [scenario, element, period] (separated elements)."""
    return terms["Recycling-supply"].sum("tier").sel(element=side.separated)


def _recycling_constraints(model: linopy.Model, terms: Terms, boundary: Boundary) -> None:
    """As in the equilibrium: a tier recovers every element of the retired magnets at the same share."""
    offered = boundary.recycling_available
    if not bool((offered > 0).any()):
        return
    model.add_constraints(_total([terms["Recycling-supply"], -offered * terms["Recycling-share"]]) == 0,
                          name="Recycling-joint-equal",
                          mask=(offered > 0).transpose("scenario", "element", "tier", "period"))


def _demand_constraints(model: linopy.Model, terms: Terms, side: ImporterSide, boundary: Boundary) -> None:
    """Demand net of substitution; substitution adopts at most its rate per period and never reverts."""
    demand = boundary.demand
    served = terms["Served"].sum("step")
    buyers = (demand > 0) & (boundary.willingness_to_pay > 0).any("step")
    share = terms["Substitution-share"]
    model.add_constraints(_total([served, demand * share]) <= demand, name="Demand-total-upper", mask=buyers)
    first = xr.DataArray([index == 0 for index in range(len(side.periods))], coords={"period": side.periods}, dims="period")
    before = boundary.substitution_before.where(first, 0.0)
    adoption = share - share.shift(period=1).fillna(0)
    adopting = (boundary.substitution_rate > 0).any("period") & (demand > 0).any("period")
    model.add_constraints(adoption <= boundary.substitution_rate + before, name="Substitution-rate-upper",
                          mask=adopting & first.notnull())
    model.add_constraints(adoption >= before, name="Substitution-irreversible-lower", mask=adopting & first.notnull())


def _trade_constraints(model: linopy.Model, terms: Terms, side: ImporterSide, boundary: Boundary,
                       stage: FirstStage) -> None:
    """Term contracts (the data's and the plan's offtakes), sticky sourcing of the importer's imports, and the
    trade it has in the engine's own solution (the `-usual` tranches, see USUAL)."""
    for usual, actual in (("Import-usual", "Import"), ("Export-usual", "Export"),
                          ("Concentrate-import-usual", "Concentrate-import"),
                          ("Concentrate-export-usual", "Concentrate-export")):
        if terms.exists(usual):
            model.add_constraints(terms[usual] - terms[actual] <= 0, name=f"{usual}-upper",
                                  mask=model.variables[usual].labels >= 0)
    imports, breach = terms["Import"], terms["Contract-breach"]
    offtake_edges = _offtake_edges(stage, boundary)
    base = (boundary.contract > 0) & ~offtake_edges & boundary.import_cost.notnull()
    model.add_constraints(imports + breach >= boundary.contract, name="Contract-lower", mask=base)
    if stage.offtake_stage.size:
        picked = _on_options(model.variables["Import"], stage) + _on_options(model.variables["Contract-breach"], stage)
        base_on_option = boundary.contract.sel(stage=stage.offtake_stage, partner=stage.offtake_partner)
        added = contracted(terms, stage) * stage.offtake_mix * side.years
        available = boundary.import_cost.sel(stage=stage.offtake_stage, partner=stage.offtake_partner).notnull()
        model.add_constraints(picked - added >= base_on_option, name="Offtake-contract-lower",
                              mask=available & (stage.offtake_mix > 0))
    if terms.exists("Route-imports"):
        sticky = side.route_sticky & boundary.import_cost.notnull()
        withheld = (boundary.route_withheld * sticky).sum(PARTNER)
        model.add_constraints(terms["Route-imports"] - (imports * sticky).sum(PARTNER) == withheld,
                              name="Route-imports-balance", mask=sticky.any(PARTNER))
        model.add_constraints(imports - side.route_share * terms["Route-imports"] - terms["Route-new"] <= 0,
                              name="Route-share-upper", mask=sticky)
        movable = side.route_movable.where(np.isfinite(side.route_movable), 0.0)
        model.add_constraints(terms["Route-new"].sum(PARTNER) - movable * terms["Route-imports"] <= 0,
                              name="Route-growth-upper", mask=sticky.any(PARTNER))


def _stock_constraints(model: linopy.Model, terms: Terms, side: ImporterSide, stage: FirstStage) -> None:
    """The plan's stocks: bought before the first period, released to the importer's buyers within a rate."""
    if not terms.exists("Stock-level"):
        return
    level = terms["Stock-level"]
    first = xr.DataArray([index == 0 for index in range(len(side.periods))], coords={"period": side.periods}, dims="period")
    size = (terms["Stock"] * stage.stock_mix).sum("stockpile")
    stocked = (stage.stock_mix > 0).any("stockpile")
    model.add_constraints(level - level.shift(period=1).fillna(0) + terms["Stock-release"] - size * first == 0,
                          name="Stock-balance", mask=stocked)
    model.add_constraints(terms["Stock-release"] - size * stage.stock_release_share * side.years <= 0,
                          name="Stock-release-upper", mask=stocked)


def _first_stage_constraints(model: linopy.Model, stage: FirstStage, side: ImporterSide, budget: float | None,
                             caps: tuple[float, float] | None, need: xr.DataArray, blocs: dict[str, frozenset[str]],
                             fixed: dict[str, xr.DataArray]) -> None:
    """Maxima and minima, thorium, the budget, the caps on new reliance, and any values held fixed."""
    terms = Terms(model)
    if stage.build_stage.size:
        built = terms["Build"].sum("start")
        model.add_constraints(built <= stage.build_maximum, name="Build-maximum")
        model.add_constraints(built >= stage.build_minimum, name="Build-minimum", mask=stage.build_minimum > 0)
        limit = stage.thorium_limit
        model.add_constraints(built * stage.build_thorium <= limit.where(np.isfinite(limit), 0.0), name="Thorium-limit",
                              mask=np.isfinite(limit) & (stage.build_thorium > 0))
    if stage.offtake_stage.size:
        signed = terms["Contract"].sum("start")
        model.add_constraints(signed <= stage.offtake_maximum, name="Contract-maximum")
        model.add_constraints(signed >= stage.offtake_minimum, name="Contract-minimum", mask=stage.offtake_minimum > 0)
    if stage.stock_maximum.size:
        model.add_constraints(terms["Stock"] <= stage.stock_maximum, name="Stock-maximum")
        model.add_constraints(terms["Stock"] >= stage.stock_minimum, name="Stock-minimum", mask=stage.stock_minimum > 0)
    if budget is not None and (stage.build_stage.size or stage.offtake_stage.size or stage.stock_maximum.size):
        model.add_constraints(_outlay(terms, stage) <= budget - stage.technology_cost, name="Budget")
    if caps is not None and stage.offtake_stage.size:
        partner_cap, bloc_cap = caps
        reported = {"period": side.reported}
        in_force = contracted(terms, stage).sel(reported)
        needed = need.sel(period=side.reported).sum("element").sel(stage=stage.offtake_stage)
        model.add_constraints(in_force <= partner_cap * needed, name="Partner-cap")
        members = xr.DataArray([[partner in blocs[bloc] for partner in stage.offtake_partner.values] for bloc in blocs],
                               coords={"bloc": list(blocs), "option": stage.offtake_stage["option"].values},
                               dims=("bloc", "option"))
        on_stage = stage.offtake_stage == xr.DataArray(list(TRADED_STAGES), coords={"stage": list(TRADED_STAGES)},
                                                       dims="stage")
        grouping = (members & on_stage).astype(float)
        by_bloc = (in_force * grouping).sum("option")
        bloc_need = need.sel(period=side.reported, stage=list(TRADED_STAGES)).sum("element")
        model.add_constraints(by_bloc <= bloc_cap * bloc_need, name="Bloc-cap", mask=grouping.any("option"))
    for name, values in fixed.items():
        if not values.size:
            continue
        model.add_constraints(terms[name] == values.fillna(0.0), name=f"{name}-fixed",
                              mask=model.variables[name].labels >= 0)


def _outlay(terms: Terms, stage: FirstStage) -> linopy.LinearExpression:
    """Capital the plan spends (USD million): plant and joint-venture capex, stock purchases (partnerships, a
    constant of each solve, are `FirstStage.technology_cost`)."""
    return _total([
        (terms["Build"] * stage.build_capex).sum() / MILLION,
        (terms["Contract"] * stage.offtake_capex).sum() / MILLION,
        (terms["Stock"] * stage.stock_price).sum() / THOUSAND,
    ])


def _commitments(model: linopy.Model, stage: FirstStage) -> tuple[linopy.LinearExpression, linopy.LinearExpression]:
    """First-stage cost charged in the objective, and the capital outlay (both USD million, both without the
    signed partnerships' cost, a constant of the solve).

    Plant and joint-venture capex are charged as an annuity for each year from commitment to the
    horizon's end (the rest of their life lies beyond it); contracts pay their reservation every
    year they are in force; stocks are paid in full; partnerships pay their cost.
    """
    terms = Terms(model)
    charged = stage.annuity * stage.build_charged_years
    in_force_years = stage.offtake_active.sel(period=[p for p in stage.offtake_active["period"].values
                                                      if p < stage.build_charged_years["start"].values[-1] + 1]).sum("period")
    commitments = _total([
        (terms["Build"] * stage.build_capex * charged).sum() / MILLION,
        (terms["Contract"] * stage.offtake_capex * charged).sum() / MILLION,
        (terms["Contract"] * stage.offtake_reservation * in_force_years).sum() / THOUSAND,
        (terms["Stock"] * stage.stock_price).sum() / THOUSAND,
    ])
    return commitments, _outlay(terms, stage)


def _loss(terms: Terms, side: ImporterSide, boundary: Boundary, stage: FirstStage,
          separation_output: linopy.LinearExpression) -> tuple[linopy.LinearExpression, linopy.LinearExpression, xr.DataArray]:
    """Per scenario (USD million): the importer's net spending on supply, and the value its buyers lose.

    Spending: its plants' operating costs, imports at the terms of trade, exports (a credit),
    contracts broken, stock holding and release, substitutes, finishing the co-products it sells,
    recycling.
    Lost value: each demand slice not served at its willingness to pay (substituted demand earns the
    lowest slice's value), written as a constant (all demand) minus what is served.
    """
    cost = side.operating_cost
    money = _total([
        float(cost.sel(stage="mining")) * terms["Mining-production"],
        float(cost.sel(stage="separation")) * terms["Concentrate-use"],
        (float(cost.sel(stage="metal")) * terms["Metal-production"]).sum("element"),
        (float(cost.sel(stage="magnet")) * terms["Magnet-production"]).sum("element"),
        ((boundary.import_cost.fillna(0.0) + USUAL) * terms["Import"]).sum(["stage", PARTNER, "element"]),
        -2 * USUAL * terms["Import-usual"].sum(["stage", PARTNER, "element"]),
        ((boundary.concentrate_cost.fillna(0.0) + USUAL) * terms["Concentrate-import"]).sum(PARTNER),
        -2 * USUAL * terms["Concentrate-import-usual"].sum(PARTNER),
        -((boundary.export_value.fillna(0.0) - USUAL) * terms["Export"]).sum(["stage", "element"]),
        -2 * USUAL * terms["Export-usual"].sum(["stage", "element"]),
        -((boundary.concentrate_export_value.fillna(0.0) - USUAL) * terms["Concentrate-export"]),
        -2 * USUAL * terms["Concentrate-export-usual"],
        (side.breach_cost * terms["Contract-breach"]).sum(["stage", PARTNER, "element"]),
        (side.holding_cost * side.years * terms["Stock-level"]).sum(["stage", "element"]),
        (stage.stock_release_cost * terms["Stock-release"]).sum(["stage", "element"]),
        (side.substitution_cost * boundary.demand * terms["Substitution-share"]).sum("sector"),
        (side.finishing_cost * _total([separation_output, -terms["Separation-surplus"]])).sum("element"),
        (boundary.recycling_cost * terms["Recycling-supply"]).sum(["element", "tier"]),
    ]) / THOUSAND
    lowest = boundary.willingness_to_pay.min("step")
    lost = _total([
        -(boundary.willingness_to_pay * terms["Served"]).sum(["sector", "step"]),
        -(lowest * boundary.demand * terms["Substitution-share"]).sum("sector"),
    ]) / THOUSAND
    constant = (boundary.willingness_to_pay * side.step_share * boundary.demand).sum(["sector", "step"]) / THOUSAND
    return money, lost, constant


def _total(parts: Sequence[linopy.LinearExpression]) -> linopy.LinearExpression:
    """The sum of several expressions, concatenated in one step."""
    return linopy.merge(list(parts), cls=linopy.LinearExpression)
