"""The extensive form of the two-stage stochastic program, built once with linopy on a `scenario` dimension.

First stage (no scenario index): `Contract[option, start]`, `Build[unit, start]`, `Assisted[unit, start]`,
`Signed[technology]`, `Stock[stockpile]`. Second stage (per scenario and period): `Import`, `Delivery`,
`Production`, `Release`, `Shortfall`. Risk: `Threshold` (eta) and `Excess[scenario]` give the
Rockafellar-Uryasev CVaR. Every constraint is added once, vectorised, with `mask=` where entries do not
exist; names read as English in duals and infeasibility reports (`Partner-cap`, `Budget`, ...).
Money is in USD million; tonnes per year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import linopy
import numpy as np
import xarray as xr

from raremap.plan.inputs import PlanInputs
from raremap.plan.scenarios import PlanScenarios
from raremap.vocabulary import STAGES

MILLION = 1e6
KILOGRAMS_PER_TONNE = 1000.0


@dataclass(frozen=True)
class Restrictions:
    """Which options a solve may use and whether caps bind (the four strategies differ only here).

    `fixed` holds first-stage values (by variable name) to evaluate a chosen plan on other scenarios.
    """

    offtakes: frozenset[str] | None = None
    builds: frozenset[str] | None = None
    stockpiles: bool = True
    technology: bool = True
    caps: bool = True
    budget: bool = True
    risk_weight: float | None = None
    fixed: dict[str, xr.DataArray] = field(default_factory=dict)


@dataclass
class Arrays:
    """The data arrays of one model, on named coordinates."""

    coords: dict[str, list]
    values: dict[str, xr.DataArray]

    def __getitem__(self, name: str) -> xr.DataArray:
        return self.values[name]


def _array(data: np.ndarray, dims: tuple[str, ...], coords: dict[str, list]) -> xr.DataArray:
    return xr.DataArray(np.asarray(data, dtype=float), dims=dims, coords={dim: coords[dim] for dim in dims})


def _units(inputs: PlanInputs) -> tuple[list[str], list[str]]:
    """Unit names (existing plants per stage, then builds) and the stage each unit produces."""
    names = [f"existing-{stage}" for stage in STAGES] + [build.spec.name for build in inputs.builds]
    stages = list(STAGES) + [build.spec.stage for build in inputs.builds]
    return names, stages


def _supplier_availability(inputs: PlanInputs, scenarios: PlanScenarios, country: str, stage: str,
                           capacity: np.ndarray, production: np.ndarray) -> np.ndarray:
    """Share of its baseline sales a supplier can still make in each scenario and period (may exceed one).

    A partner that made nothing in the baseline delivers in full if it has capacity (less its loss), and
    nothing if it has none.
    """
    remaining = capacity * (1.0 - scenarios.loss_of(country, stage))
    with np.errstate(divide="ignore", invalid="ignore"):
        idle = np.where(capacity > 1e-9, 1.0 - scenarios.loss_of(country, stage), 0.0)
        ratio = np.where(production > 1e-9, remaining / np.where(production > 1e-9, production, 1.0), idle)
    if country == scenarios.control_exporter and stage in scenarios.control_stages:
        ratio = np.minimum(ratio, 1.0 - scenarios.control_cut)
    return ratio


def route_limits(inputs: PlanInputs, scenarios: PlanScenarios) -> np.ndarray:
    """Tonnes each status-quo supplier can deliver: its baseline share of sales x what it can still make.

    limit = F x min(C (1 - loss), P + usable spare) / P, and at most (1 - cut) x F under an export control;
    spare capacity is usable only in periods where the baseline served all of the importer's demand
    (idle capacity next to unmet demand lacked inputs). A supplier that shipped nothing to the importer
    (F = 0 in every period) offers its spare capacity: limit = max(0, C (1 - loss) - P) in those periods,
    times (1 - cut) under an export control.
    """
    routes = inputs.routes
    limits = np.zeros((scenarios.count, len(routes.names), len(inputs.periods)))
    for row, (country, stage) in enumerate(zip(routes.suppliers, routes.stages, strict=True)):
        flow, production, capacity = routes.flow[row], routes.production[row], routes.capacity[row]
        lost = scenarios.loss_of(country, stage)
        controlled = country == scenarios.control_exporter and stage in scenarios.control_stages
        if not np.any(flow > 1e-9):
            spare = np.maximum(capacity * (1.0 - lost) - production, 0.0) * routes.spare_usable
            limits[:, row, :] = spare * (1.0 - scenarios.control_cut) if controlled else spare
            continue
        ceiling = np.where(routes.spare_usable, capacity, np.minimum(capacity, production))
        remaining = np.minimum(capacity * (1.0 - lost), ceiling)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(production > 1e-9, flow / np.where(production > 1e-9, production, 1.0), 0.0)
        limit = np.where(production > 1e-9, share * remaining, flow * (1.0 - lost))
        if controlled:
            limit = np.minimum(limit, flow * (1.0 - scenarios.control_cut))
        limits[:, row, :] = np.maximum(limit, 0.0)
    return limits


def _build_capacity(inputs: PlanInputs, scenarios: PlanScenarios, assisted: bool) -> np.ndarray:
    """Share of a build's t/yr available per (unit, start, scenario, period): lead, slip, linear ramp-up."""
    periods = np.asarray(inputs.periods)
    count_existing = len(STAGES)
    shape = (count_existing + len(inputs.builds), len(periods), scenarios.count, len(periods))
    share = np.zeros(shape)
    for index, build in enumerate(inputs.builds):
        lead = build.lead_time_years - (build.lead_time_cut_years if assisted else 0)
        delay = scenarios.delay_years[:, index] if scenarios.delay_years.shape[1] > index else np.zeros(scenarios.count)
        online = periods[:, None] + max(lead, 0) + delay[None, :]
        years_on = periods[None, None, :] - online[:, :, None]
        share[count_existing + index] = np.clip((years_on + 1) / (build.ramp_up_years + 1), 0.0, 1.0)
    return share


def _allowed_starts(inputs: PlanInputs, earliest: list[int]) -> np.ndarray:
    periods = np.asarray(inputs.periods)
    return (periods[None, :] >= np.asarray(earliest)[:, None]).astype(float)


def build_arrays(inputs: PlanInputs, scenarios: PlanScenarios) -> Arrays:
    """Every coefficient of the LP as a labelled array."""
    units, unit_stages = _units(inputs)
    partners = sorted({*inputs.routes.suppliers, *(item.spec.partner for item in inputs.offtakes)} - {inputs.importer})
    blocs = [bloc for bloc, members in inputs.blocs.items() if members & set(partners)]
    coords: dict[str, list] = {
        "scenario": list(range(scenarios.count)), "period": list(inputs.periods), "start": list(inputs.periods),
        "stage": list(STAGES), "route": inputs.routes.names, "option": [item.spec.name for item in inputs.offtakes],
        "unit": units, "stockpile": [f"{item.element}/{item.stage}" for item in inputs.plan.stockpiles],
        "technology": [item.name for item in inputs.plan.technology], "partner": partners, "bloc": blocs,
    }
    values: dict[str, xr.DataArray] = {}
    conversions = inputs.conversions
    stage_index = {stage: position for position, stage in enumerate(STAGES)}
    # Routes: stage and partner of each status-quo supply, and its limit per scenario.
    route_stage = np.zeros((len(coords["route"]), len(STAGES)))
    route_partner = np.zeros((len(coords["route"]), len(partners)))
    for row, (country, stage) in enumerate(zip(inputs.routes.suppliers, inputs.routes.stages, strict=True)):
        route_stage[row, stage_index[stage]] = 1.0
        route_partner[row, partners.index(country)] = 1.0
    values["route_stage"] = _array(route_stage, ("route", "stage"), coords)
    values["route_partner"] = _array(route_partner, ("route", "partner"), coords)
    values["route_limit"] = _array(route_limits(inputs, scenarios), ("scenario", "route", "period"), coords)
    values["route_price"] = _array(np.array([inputs.prices_usd_per_kg[stage] for stage in inputs.routes.stages]),
                                   ("route",), coords)
    _option_arrays(inputs, scenarios, coords, values, partners)
    _unit_arrays(inputs, scenarios, coords, values, unit_stages)
    stock_stage = np.zeros((len(coords["stockpile"]), len(STAGES)))
    for row, item in enumerate(inputs.plan.stockpiles):
        stock_stage[row, stage_index[item.stage]] = 1.0
    values["stock_stage"] = _array(stock_stage, ("stockpile", "stage"), coords)
    values["stock_price"] = _array(np.array(inputs.stockpile_prices), ("stockpile",), coords)
    values["stock_holding"] = _array(
        np.array([item.holding_cost_usd_per_kg_year for item in inputs.plan.stockpiles]), ("stockpile",), coords)
    demand = inputs.demand[None, :, :] * scenarios.demand_level[:, None, None]
    values["demand"] = _array(demand, ("scenario", "stage", "period"), coords)
    values["weight"] = _array(scenarios.weight, ("scenario",), coords)
    first = inputs.periods[0]
    discount = np.array([(1 + inputs.plan.discount_rate) ** -(year - first) for year in inputs.periods])
    values["discount"] = _array(discount, ("period",), coords)
    values["discount_start"] = _array(discount, ("start",), coords)
    membership = np.array([[1.0 if partner in inputs.blocs[bloc] else 0.0 for partner in partners] for bloc in blocs])
    values["membership"] = _array(membership.reshape(len(blocs), len(partners)), ("bloc", "partner"), coords)
    del conversions
    return Arrays(coords, values)


def _option_arrays(inputs: PlanInputs, scenarios: PlanScenarios, coords: dict[str, list],
                   values: dict[str, xr.DataArray], partners: list[str]) -> None:
    """Offtakes: stage, partner, when each start delivers, the partner's availability and the prices."""
    options = inputs.offtakes
    periods = np.asarray(inputs.periods)
    option_stage = np.zeros((len(options), len(STAGES)))
    option_partner = np.zeros((len(options), len(partners)))
    active = np.zeros((len(options), len(periods), len(periods)))
    availability = np.ones((scenarios.count, len(options), len(periods)))
    for row, item in enumerate(options):
        spec = item.spec
        option_stage[row, STAGES.index(spec.stage)] = 1.0
        option_partner[row, partners.index(spec.partner)] = 1.0
        active[row] = (periods[None, :] >= periods[:, None] + spec.lead_time_years).astype(float)
        capacity = inputs.partner_capacity.get((spec.partner, spec.stage), np.zeros(len(periods)))
        production = inputs.partner_production.get((spec.partner, spec.stage), np.zeros(len(periods)))
        share = _supplier_availability(inputs, scenarios, spec.partner, spec.stage, capacity, production)
        availability[:, row, :] = np.clip(share, 0.0, 1.0)
    values["option_stage"] = _array(option_stage, ("option", "stage"), coords)
    values["option_partner"] = _array(option_partner, ("option", "partner"), coords)
    values["option_active"] = _array(active, ("option", "start", "period"), coords)
    values["option_availability"] = _array(availability, ("scenario", "option", "period"), coords)
    values["option_allowed"] = _array(_allowed_starts(inputs, [item.earliest_start for item in options]),
                                      ("option", "start"), coords)
    values["option_price"] = _array(np.array([item.price_usd_per_kg * (1 + item.premium) for item in options]),
                                    ("option",), coords)
    values["option_reservation"] = _array(np.array([item.price_usd_per_kg * item.reservation for item in options]),
                                          ("option",), coords)
    values["option_capex"] = _array(np.array([item.spec.capex_usd_per_tpa for item in options]), ("option",), coords)
    values["option_maximum"] = _array(np.array([item.spec.maximum_t for item in options]), ("option",), coords)
    values["option_minimum"] = _array(np.array([item.spec.minimum_t for item in options]), ("option",), coords)


def _unit_arrays(inputs: PlanInputs, scenarios: PlanScenarios, coords: dict[str, list],
                 values: dict[str, xr.DataArray], unit_stages: list[str]) -> None:
    """Domestic units: output and input per tonne, existing capacity left in each scenario, build terms."""
    conversions = inputs.conversions
    output = np.zeros((len(unit_stages), len(STAGES)))
    needs = np.zeros((len(unit_stages), len(STAGES)))
    opex = np.zeros(len(unit_stages))
    existing = np.zeros((scenarios.count, len(unit_stages), len(inputs.periods)))
    for row, stage in enumerate(unit_stages):
        product = inputs.builds[row - len(STAGES)].spec.product_stage if stage == "recycling" else stage
        output[row, STAGES.index(product)] = conversions.output_per_unit(stage if stage != "recycling" else product)
        if stage != "recycling":
            source, per_unit = conversions.input_per_unit(stage)
            if source is not None:
                needs[row, STAGES.index(source)] = per_unit
        if row < len(STAGES):
            opex[row] = inputs.opex_usd_per_kg[stage]
            existing[:, row, :] = inputs.existing_capacity[row][None, :] * (1 - scenarios.loss_of(inputs.importer, stage))
        else:
            opex[row] = inputs.builds[row - len(STAGES)].opex_usd_per_t / KILOGRAMS_PER_TONNE
    domestic_loss = np.ones((scenarios.count, len(unit_stages), len(inputs.periods)))
    for row, stage in enumerate(unit_stages[len(STAGES):], start=len(STAGES)):
        domestic_loss[:, row, :] = 1 - scenarios.loss_of(inputs.importer, stage if stage != "recycling" else "metal")
    values["unit_output"] = _array(output, ("unit", "stage"), coords)
    values["unit_input"] = _array(needs, ("unit", "stage"), coords)
    values["unit_opex"] = _array(opex, ("unit",), coords)
    values["existing_capacity"] = _array(existing, ("scenario", "unit", "period"), coords)
    plain = _build_capacity(inputs, scenarios, assisted=False).transpose(0, 1, 2, 3)
    helped = _build_capacity(inputs, scenarios, assisted=True)
    loss = domestic_loss[None].transpose(2, 0, 1, 3)  # unit, 1, scenario, period
    values["build_capacity"] = _array(plain * loss, ("unit", "start", "scenario", "period"), coords)
    values["assisted_capacity"] = _array(helped * loss, ("unit", "start", "scenario", "period"), coords)
    builds = inputs.builds
    earliest = [10_000] * len(STAGES) + [build.earliest_start for build in builds]
    values["build_allowed"] = _array(_allowed_starts(inputs, earliest), ("unit", "start"), coords)
    values["build_capex"] = _array(np.array([0.0] * len(STAGES) + [b.capex_usd_per_tpa for b in builds]), ("unit",),
                                   coords)
    values["assisted_capex"] = _array(
        np.array([0.0] * len(STAGES) + [b.capex_usd_per_tpa * (1 - b.capex_cut) for b in builds]), ("unit",), coords)
    values["build_maximum"] = _array(np.array([0.0] * len(STAGES) + [b.spec.maximum_t for b in builds]), ("unit",),
                                     coords)
    values["build_minimum"] = _array(np.array([0.0] * len(STAGES) + [b.spec.minimum_t for b in builds]), ("unit",),
                                     coords)
    thorium = [0.0] * len(STAGES) + [conversions.thorium_per_reo if b.spec.stage == "mining" else 0.0 for b in builds]
    limit = [np.inf] * len(STAGES) + [
        b.spec.thorium_limit_t if b.spec.thorium_limit_t is not None else np.inf for b in builds]
    values["build_thorium"] = _array(np.array(thorium), ("unit",), coords)
    values["thorium_limit"] = _array(np.array(limit), ("unit",), coords)
    technology = coords["technology"]
    link = np.zeros((len(technology), len(unit_stages)))
    for row, build in enumerate(builds, start=len(STAGES)):
        if build.technology is not None:
            link[technology.index(build.technology), row] = build.spec.maximum_t
    values["technology_link"] = _array(link, ("technology", "unit"), coords)
    values["technology_cost"] = _array(np.array([item.cost_usd for item in inputs.plan.technology]), ("technology",),
                                       coords)


def _bounded(arrays: Arrays, restrictions: Restrictions, name: str, upper: xr.DataArray,
             lower: xr.DataArray | float = 0.0) -> tuple[xr.DataArray | float, xr.DataArray]:
    """Bounds of a first-stage variable, pinned to given values when the plan is being re-evaluated."""
    if name in restrictions.fixed:
        value = restrictions.fixed[name]
        return value, value
    return lower, upper


def _first_stage(model: linopy.Model, inputs: PlanInputs, arrays: Arrays, restrictions: Restrictions) -> None:
    offtake_open = xr.DataArray([restrictions.offtakes is None or name in restrictions.offtakes
                                 for name in arrays.coords["option"]], dims="option",
                                coords={"option": arrays.coords["option"]}).astype(float)
    build_open = xr.DataArray([restrictions.builds is None or name in restrictions.builds or name.startswith("existing-")
                               for name in arrays.coords["unit"]], dims="unit",
                              coords={"unit": arrays.coords["unit"]}).astype(float)
    lower, upper = _bounded(arrays, restrictions, "Contract",
                            arrays["option_allowed"] * arrays["option_maximum"] * offtake_open)
    model.add_variables(lower=lower, upper=upper, name="Contract")
    building = arrays["build_allowed"] * arrays["build_maximum"] * build_open
    lower, upper = _bounded(arrays, restrictions, "Build", building)
    model.add_variables(lower=lower, upper=upper, name="Build")
    helped = building * (arrays["technology_link"].sum("technology") > 0) * float(restrictions.technology)
    lower, upper = _bounded(arrays, restrictions, "Assisted", helped)
    model.add_variables(lower=lower, upper=upper, name="Assisted")
    signed = xr.DataArray(np.full(len(arrays.coords["technology"]), float(restrictions.technology)),
                          dims="technology", coords={"technology": arrays.coords["technology"]})
    lower, upper = _bounded(arrays, restrictions, "Signed", signed)
    model.add_variables(lower=lower, upper=upper, name="Signed")
    stock_max = xr.DataArray([item.maximum_t * float(restrictions.stockpiles) for item in inputs.plan.stockpiles],
                             dims="stockpile", coords={"stockpile": arrays.coords["stockpile"]})
    stock_min = xr.DataArray([min(item.minimum_t, item.maximum_t * float(restrictions.stockpiles))
                              for item in inputs.plan.stockpiles], dims="stockpile",
                             coords={"stockpile": arrays.coords["stockpile"]})
    lower, upper = _bounded(arrays, restrictions, "Stock", stock_max, stock_min)
    model.add_variables(lower=lower, upper=upper, name="Stock")


def _first_stage_constraints(model: linopy.Model, arrays: Arrays, restrictions: Restrictions) -> None:
    contract, build, assisted = model.variables["Contract"], model.variables["Build"], model.variables["Assisted"]
    built = (build + assisted).sum("start")
    if arrays.coords["option"]:
        model.add_constraints(contract.sum("start") <= arrays["option_maximum"], name="Contract-maximum")
        model.add_constraints(contract.sum("start") >= arrays["option_minimum"], name="Contract-minimum",
                              mask=arrays["option_minimum"] > 0)
    is_build = arrays["build_maximum"] > 0
    model.add_constraints(built <= arrays["build_maximum"], name="Build-maximum", mask=is_build)
    model.add_constraints(built >= arrays["build_minimum"], name="Build-minimum", mask=arrays["build_minimum"] > 0)
    linked = arrays["technology_link"].sum("technology") > 0
    if bool(linked.any()):
        model.add_constraints(assisted.sum("start") <= (model.variables["Signed"] * arrays["technology_link"])
                              .sum("technology"), name="Assisted-signed", mask=linked)
    limited = np.isfinite(arrays["thorium_limit"]) & (arrays["build_thorium"] > 0)
    model.add_constraints(built * arrays["build_thorium"] <= arrays["thorium_limit"].where(limited, 0.0),
                          name="Thorium-limit", mask=limited)
    if restrictions.budget:
        model.add_constraints(capital_outlay(model, arrays) <= arrays.coords["budget"][0], name="Budget")


def capital_outlay(model: linopy.Model, arrays: Arrays) -> linopy.LinearExpression:
    """Money committed up front (USD million, undiscounted): plants, joint ventures, know-how, stocks."""
    variables = model.variables
    return (
        (variables["Build"] * arrays["build_capex"]).sum() / MILLION
        + (variables["Assisted"] * arrays["assisted_capex"]).sum() / MILLION
        + (variables["Contract"] * arrays["option_capex"]).sum() / MILLION
        + (variables["Signed"] * arrays["technology_cost"]).sum() / MILLION
        + (variables["Stock"] * arrays["stock_price"]).sum() / KILOGRAMS_PER_TONNE
    )


def _second_stage(model: linopy.Model, arrays: Arrays) -> None:
    coords = arrays.coords
    model.add_variables(lower=0.0, upper=arrays["route_limit"], name="Import")
    scenario_option = xr.DataArray(np.zeros((len(coords["scenario"]), len(coords["option"]), len(coords["period"]))),
                                   dims=("scenario", "option", "period"),
                                   coords={dim: coords[dim] for dim in ("scenario", "option", "period")})
    model.add_variables(lower=scenario_option, name="Delivery")
    model.add_variables(lower=arrays["existing_capacity"] * 0.0, name="Production")
    stock_shape = xr.zeros_like(arrays["stock_stage"].sum("stage")) + xr.zeros_like(arrays["weight"]) \
        + xr.zeros_like(arrays["discount"])
    model.add_variables(lower=stock_shape, name="Release")
    model.add_variables(lower=0.0, upper=arrays["demand"], name="Shortfall")


def stage_supply(model: linopy.Model, arrays: Arrays) -> linopy.LinearExpression:
    """Tonnes reaching the importer at each stage: imports, contracted deliveries, domestic output, releases."""
    variables = model.variables
    return (
        (variables["Import"] * arrays["route_stage"]).sum("route")
        + (variables["Delivery"] * arrays["option_stage"]).sum("option")
        + (variables["Production"] * arrays["unit_output"]).sum("unit")
        + (variables["Release"] * arrays["stock_stage"]).sum("stockpile")
    )


def partner_supply(model: linopy.Model, arrays: Arrays) -> linopy.LinearExpression:
    """Tonnes from each partner at each stage (status-quo imports and contracted deliveries)."""
    variables = model.variables
    return (
        (variables["Import"] * (arrays["route_stage"] * arrays["route_partner"])).sum("route")
        + (variables["Delivery"] * (arrays["option_stage"] * arrays["option_partner"])).sum("option")
    )


def _second_stage_constraints(model: linopy.Model, inputs: PlanInputs, arrays: Arrays,
                              restrictions: Restrictions) -> None:
    variables = model.variables
    if arrays.coords["option"]:
        delivered = (variables["Contract"] * arrays["option_active"]).sum("start") * arrays["option_availability"]
        model.add_constraints(variables["Delivery"] - delivered <= 0, name="Delivery-upper")
    capacity = (variables["Build"] * arrays["build_capacity"]).sum("start") \
        + (variables["Assisted"] * arrays["assisted_capacity"]).sum("start")
    model.add_constraints(variables["Production"] - capacity <= arrays["existing_capacity"], name="Production-upper")
    if arrays.coords["stockpile"]:
        model.add_constraints(variables["Release"].sum("period") <= variables["Stock"], name="Release-total")
    supply = stage_supply(model, arrays)
    uses = (variables["Production"] * arrays["unit_input"]).sum("unit")
    model.add_constraints(supply - uses + variables["Shortfall"] >= arrays["demand"], name="Stage-balance")
    if restrictions.caps:
        _caps(model, inputs, arrays, supply)


def _caps(model: linopy.Model, inputs: PlanInputs, arrays: Arrays, supply: linopy.LinearExpression) -> None:
    """Partner and bloc shares at most the caps, and domestic output at least its share, from the caps' year."""
    caps = inputs.plan.caps
    period = xr.DataArray(arrays.coords["period"], dims="period", coords={"period": arrays.coords["period"]})
    binding = period >= inputs.caps_from_year
    by_partner = partner_supply(model, arrays)
    supplies = ((arrays["route_stage"] * arrays["route_partner"]).sum("route")
                + (arrays["option_stage"] * arrays["option_partner"]).sum("option")) > 0
    model.add_constraints(by_partner - caps.partner * supply <= 0, name="Partner-cap", mask=binding & supplies)
    if arrays.coords["bloc"]:
        by_bloc = (by_partner * arrays["membership"]).sum("partner")
        bloc_supplies = (supplies * arrays["membership"]).sum("partner") > 0
        model.add_constraints(by_bloc - caps.bloc * supply <= 0, name="Bloc-cap", mask=binding & bloc_supplies)
    if caps.minimum_domestic_share:
        domestic = (model.variables["Production"] * arrays["unit_output"]).sum("unit")
        stages = xr.DataArray([stage in caps.domestic_stages for stage in STAGES], dims="stage",
                              coords={"stage": list(STAGES)})
        model.add_constraints(domestic - caps.minimum_domestic_share * supply >= 0, name="Domestic-share-lower",
                              mask=binding & stages)


def operating_cost(model: linopy.Model, arrays: Arrays) -> linopy.LinearExpression:
    """Discounted money spent per scenario (USD million): imports, deliveries, domestic opex."""
    variables = model.variables
    per_period = (
        (variables["Import"] * arrays["route_price"]).sum("route")
        + (variables["Delivery"] * arrays["option_price"]).sum("option")
        + (variables["Production"] * arrays["unit_opex"]).sum("unit")
    )
    return (per_period * arrays["discount"]).sum("period") / KILOGRAMS_PER_TONNE


def commitment_cost(model: linopy.Model, arrays: Arrays) -> linopy.LinearExpression:
    """Discounted first-stage cost (USD million): capex at the start year, contract reservations, stocks."""
    variables = model.variables
    reserved = (arrays["option_active"] * arrays["discount"]).sum("period") * arrays["option_reservation"]
    holding = arrays["stock_holding"] * float(arrays["discount"].sum())
    return (
        (variables["Build"] * arrays["build_capex"] * arrays["discount_start"]).sum() / MILLION
        + (variables["Assisted"] * arrays["assisted_capex"] * arrays["discount_start"]).sum() / MILLION
        + (variables["Contract"] * (arrays["option_capex"] / KILOGRAMS_PER_TONNE + reserved)
           * arrays["discount_start"]).sum() / KILOGRAMS_PER_TONNE
        + (variables["Signed"] * arrays["technology_cost"]).sum() / MILLION
        + (variables["Stock"] * (arrays["stock_price"] + holding)).sum() / KILOGRAMS_PER_TONNE
    )


def shortfall_cost(model: linopy.Model, arrays: Arrays, value_usd_per_kg: float) -> linopy.LinearExpression:
    """Undiscounted value of unmet demand per scenario (USD million): a security loss, not a cash flow."""
    return model.variables["Shortfall"].sum(["stage", "period"]) * value_usd_per_kg / KILOGRAMS_PER_TONNE


def build_plan_model(inputs: PlanInputs, scenarios: PlanScenarios, restrictions: Restrictions | None = None,
                     ) -> tuple[linopy.Model, Arrays]:
    """The extensive-form LP: minimise expected cost + lambda x CVaR_alpha(shortfall cost)."""
    restrictions = restrictions or Restrictions()
    arrays = build_arrays(inputs, scenarios)
    arrays.coords["budget"] = [inputs.plan.budget_usd_million]
    model = linopy.Model(force_dim_names=True)
    _first_stage(model, inputs, arrays, restrictions)
    _second_stage(model, arrays)
    _first_stage_constraints(model, arrays, restrictions)
    _second_stage_constraints(model, inputs, arrays, restrictions)
    weight = arrays["weight"]
    loss = shortfall_cost(model, arrays, inputs.shortfall_value_usd_per_kg)
    threshold = model.add_variables(name="Threshold")
    excess = model.add_variables(lower=xr.zeros_like(weight), name="Excess")
    model.add_constraints(excess - loss + threshold >= 0, name="CVaR-excess")
    risk = inputs.plan.risk
    lam = risk.weight if restrictions.risk_weight is None else restrictions.risk_weight
    expected = commitment_cost(model, arrays) + ((operating_cost(model, arrays) + loss) * weight).sum()
    cvar = threshold + (excess * weight).sum() / (1.0 - risk.alpha)
    model.add_objective(expected + lam * cvar)
    return model, arrays
