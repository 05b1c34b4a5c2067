"""What the planner reads: the importer-centred reduction of the equilibrium model, and resolved options.

The reduction (docs/plan.md) keeps, for the importer only, one product per stage — concentrate
(t REO), magnet oxides and metals (t of the magnet recipe's elements, in recipe proportions) and
magnets (t NdFeB) — and takes from a solved baseline `simulate()` run what each supplier delivered
to the importer, what it produced and what it could produce. A scenario then scales those limits.
Options whose numbers the plan leaves empty are filled from the dataset's tables; every filled
number is recorded with its source row in `provenance`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from raremap.model.supply_chain import SupplyChain
from raremap.plan import assumptions
from raremap.plan.spec import DomesticBuild, Offtake, Plan
from raremap.simulate.run import Result, Simulation
from raremap.vocabulary import STAGES

MAGNET = "NdFeB"  # until the planner moves to the new market (issue 16)

PRODUCT_STAGES = STAGES
"""Stages of the importer's balance, upstream first."""


@dataclass(frozen=True)
class Baseline:
    """A solved baseline run and the supply chain it ran on."""

    chain: SupplyChain
    result: Result
    importer: str


def baseline_for_chain(chain: SupplyChain, importer: str, scenario: Any = None) -> Baseline:
    """Solve the baseline on a given supply chain (tiny networks in tests)."""
    from raremap.scenario.spec import Periods, Scenario

    if scenario is None:
        periods = Periods(start=chain.periods[0], end=chain.periods[-1], length=chain.period_length)
        scenario = Scenario(name="plan-baseline", importer=importer, periods=periods)
    simulation = Simulation(scenario, supply_chain=chain)
    result = simulation.run()
    assert simulation.supply_chain is not None
    return Baseline(simulation.supply_chain, result, importer)


def baseline_for_dataset(dataset: Any, plan: Plan) -> Baseline:
    """Solve the bundled baseline scenario over the plan's horizon for the plan's importer."""
    from raremap.scenario.loading import load_scenario, override

    scenario = override(
        load_scenario("baseline", dataset), {"importer": plan.importer, "periods": plan.horizon.periods().model_dump()}
    )
    simulation = Simulation(scenario, dataset=dataset)
    result = simulation.run()
    assert simulation.supply_chain is not None
    return Baseline(simulation.supply_chain, result, plan.importer)


@dataclass(frozen=True)
class Conversions:
    """How the importer's stages turn into one another, per tonne of each stage's capacity unit."""

    recipe_elements: tuple[str, ...]
    separation_yield: float
    oxide_per_metal: float
    metal_per_magnet: float
    thorium_per_reo: float
    waste_per_reo: float

    def output_per_unit(self, stage: str) -> float:
        """Stage product per tonne of capacity (separation capacity is t REO fed)."""
        return self.separation_yield if stage == "separation" else 1.0

    def input_per_unit(self, stage: str) -> tuple[str | None, float]:
        """The stage feeding `stage` and the tonnes it takes per tonne of capacity."""
        return {
            "mining": (None, 0.0),
            "separation": ("mining", 1.0),
            "metal": ("separation", self.oxide_per_metal),
            "magnet": ("metal", self.metal_per_magnet),
        }[stage]


def conversions_for(chain: SupplyChain, importer: str, dataset: Any = None) -> Conversions:
    """Recipe and composition factors; monazite thorium and waste from deposits.csv when a dataset is given."""
    recipe = chain["magnet_recipe"].to_series()
    recipe = recipe[(recipe > 0) & (recipe.index != MAGNET)]
    elements = tuple(str(element) for element in recipe.index)
    metal_per_magnet = float(recipe.sum())
    if elements:
        factors = chain["metal_factor"].to_series()[list(elements)]
        oxide_per_metal = float((recipe / factors).sum() / recipe.sum())
        composition = chain["composition"].sel(country=importer).to_series()
        share = float(composition[list(elements)].sum())
        separation_yield = share if share > 0 else 1.0
    else:
        oxide_per_metal, separation_yield = 1.0, 1.0
    thorium, waste = 0.0, 0.0
    if dataset is not None:
        monazite = dataset["deposits"].set_index("deposit_type").loc["monazite"]
        thorium = float(monazite["tho2_share"]) / float(monazite["reo_share"])
        waste = (1.0 - float(monazite["reo_share"]) - float(monazite["tho2_share"])) / float(monazite["reo_share"])
    return Conversions(elements, separation_yield, oxide_per_metal, metal_per_magnet, thorium, waste)


@dataclass(frozen=True)
class Routes:
    """Status-quo suppliers of the importer: flow, output and capacity per (supplier, stage) and period."""

    suppliers: tuple[str, ...]
    stages: tuple[str, ...]
    flow: np.ndarray
    production: np.ndarray
    capacity: np.ndarray
    spare_usable: np.ndarray

    @property
    def names(self) -> list[str]:
        return [f"{supplier}/{stage}" for supplier, stage in zip(self.suppliers, self.stages, strict=True)]


def _product_flows(baseline: Baseline, conversions: Conversions) -> pd.DataFrame:
    """Tonnes of each stage's product shipped to the importer, per exporter, stage and period."""
    flows = baseline.result.flows
    flows = flows[(flows["importer"] == baseline.importer) & (flows["exporter"] != baseline.importer)]
    if conversions.recipe_elements:
        keep = (flows["stage"] == "mining") | (flows["stage"] == "magnet") | flows["element"].isin(
            conversions.recipe_elements
        )
        flows = flows[keep]
    return flows.groupby(["exporter", "stage", "period"], as_index=False).agg({"value_t": "sum"})


def _utilisation_lookup(baseline: Baseline) -> tuple[dict[tuple[str, str, int], float], ...]:
    """Output and capacity per (country, stage, period) from the baseline's utilisation table."""
    table = baseline.result.utilisation
    keys = list(zip(table["country"].astype(str), table["stage"].astype(str), table["period"].astype(int),
                    strict=True))
    output = dict(zip(keys, table["production_t"].to_numpy(dtype=float), strict=True))
    size = dict(zip(keys, table["capacity_t"].to_numpy(dtype=float), strict=True))
    return output, size


def _spare_suppliers(baseline: Baseline, stages: set[str], spare_usable: np.ndarray) -> set[tuple[str, str]]:
    """Suppliers at the importer's buying stages with idle capacity in a period the baseline fully served."""
    periods = list(baseline.chain.periods)
    usable = {period for period, flag in zip(periods, spare_usable, strict=True) if flag}
    table = baseline.result.utilisation
    rows = table[table["stage"].isin(sorted(stages)) & table["period"].isin(sorted(usable))
                 & (table["country"] != baseline.importer)]
    idle = rows["capacity_t"].to_numpy(dtype=float) - rows["production_t"].to_numpy(dtype=float) > 1e-6
    return {(str(country), str(stage)) for country, stage in zip(rows["country"][idle], rows["stage"][idle],
                                                                 strict=True)}


def routes_for(baseline: Baseline, conversions: Conversions) -> Routes:
    """Every supplier x stage that shipped to the importer in the baseline, with its output and capacity.

    Suppliers that shipped nothing to the importer but had idle capacity at a stage the importer buys, in a
    period where the baseline served all of the importer's demand, get a route too (flow 0): in a scenario
    the importer may take their spare capacity (``route_limits``).
    """
    periods = list(baseline.chain.periods)
    flows = _product_flows(baseline, conversions)
    shipped = {(str(exporter), str(stage)) for exporter, stage, tonnes in
               zip(flows["exporter"], flows["stage"], flows["value_t"].to_numpy(dtype=float), strict=True)
               if tonnes > 1e-6}
    output, size = _utilisation_lookup(baseline)
    shortfall = baseline.result.shortfall
    short = shortfall[shortfall["country"] == baseline.importer].groupby("period")["tonnes"].sum()
    spare_usable = np.array([float(short.get(period, 0.0)) <= 1e-6 for period in periods])
    buying = {stage for _, stage in shipped}
    chain = baseline.chain
    if MAGNET in chain.elements and float(chain["demand"].sel(country=baseline.importer, element=MAGNET).sum()) > 0:
        buying.add("magnet")
    pairs = sorted(shipped | _spare_suppliers(baseline, buying, spare_usable))
    shape = (len(pairs), len(periods))
    flow, production, capacity = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    indexed = dict(zip(zip(flows["exporter"].astype(str), flows["stage"].astype(str), flows["period"], strict=True),
                       flows["value_t"].to_numpy(dtype=float), strict=True))
    for row, (supplier, stage) in enumerate(pairs):
        for column, period in enumerate(periods):
            flow[row, column] = indexed.get((supplier, stage, period), 0.0)
            production[row, column] = output.get((supplier, stage, period), 0.0)
            capacity[row, column] = size.get((supplier, stage, period), 0.0)
    suppliers = tuple(pair[0] for pair in pairs)
    stages = tuple(pair[1] for pair in pairs)
    return Routes(suppliers, stages, flow, production, capacity, spare_usable)


@dataclass(frozen=True)
class ResolvedOfftake:
    """An offtake or joint venture with every number filled in."""

    spec: Offtake
    premium: float
    reservation: float
    earliest_start: int
    price_usd_per_kg: float


@dataclass(frozen=True)
class ResolvedBuild:
    """A domestic build with every number filled in."""

    spec: DomesticBuild
    capex_usd_per_tpa: float
    opex_usd_per_t: float
    lead_time_years: int
    ramp_up_years: int
    earliest_start: int
    delay_probability: float
    delay_years_max: int
    technology: str | None = None
    lead_time_cut_years: int = 0
    capex_cut: float = 0.0
    technology_cost_usd: float = 0.0
    technology_partner: str | None = None


@dataclass(frozen=True)
class PlanInputs:
    """Everything the planner's LP needs, on plain arrays, plus where each default came from."""

    plan: Plan
    importer: str
    periods: tuple[int, ...]
    demand: np.ndarray
    existing_capacity: np.ndarray
    conversions: Conversions
    routes: Routes
    prices_usd_per_kg: dict[str, float]
    opex_usd_per_kg: dict[str, float]
    shortfall_value_usd_per_kg: float
    offtakes: tuple[ResolvedOfftake, ...]
    builds: tuple[ResolvedBuild, ...]
    stockpile_prices: tuple[float, ...]
    partner_capacity: dict[tuple[str, str], np.ndarray]
    partner_production: dict[tuple[str, str], np.ndarray]
    blocs: dict[str, frozenset[str]]
    provenance: list[dict[str, Any]] = field(default_factory=list)

    @property
    def caps_from_year(self) -> int:
        given = self.plan.caps.from_year
        return given if given is not None else self.periods[0] + assumptions.CAPS_DELAY_YEARS


def _latest_price(dataset: Any, element: str, form: str) -> tuple[float, str] | None:
    """The latest price row for element and form (the highest of that year's rows) and its line."""
    if dataset is None:
        return None
    prices = dataset["prices"]
    rows = prices[(prices["element"] == element) & (prices["form"] == form)]
    if rows.empty:
        return None
    rows = rows[rows["year"] == rows["year"].max()].sort_values("usd_per_kg")
    return float(rows["usd_per_kg"].iloc[-1]), f"prices.csv line {rows.index[-1]}"


def market_prices(chain: SupplyChain, dataset: Any, conversions: Conversions,
                  provenance: list[dict[str, Any]], magnet_value: float) -> dict[str, float]:
    """USD per kg of each stage's product: magnets at the simulator's reference value, NdPr oxide and metal."""
    oxide = _latest_price(dataset, "NdPr", "oxide") or (50.0, "assumption: simulator's 50 USD/kg oxide fallback")
    metal = _latest_price(dataset, "NdPr", "metal") or (oxide[0] / 0.85, "oxide price / 0.85")
    mining = assumptions.MINING_VALUE_SHARE * oxide[0] * conversions.separation_yield
    prices = {"mining": mining, "separation": oxide[0], "metal": metal[0], "magnet": magnet_value}
    sources = {
        "mining": f"MINING_VALUE_SHARE x separation price x separation yield ({oxide[1]})",
        "separation": oxide[1],
        "metal": metal[1],
        "magnet": "settings.magnet_value_usd_per_kg (docs/simulation.md)",
    }
    for stage, value in prices.items():
        provenance.append({"item": f"price/{stage}", "value": value, "source": sources[stage]})
    return prices


def _table_row(table: pd.DataFrame, stage: str, importer: str) -> tuple[pd.Series, str] | None:
    """The importer's row of a costs or lead_times table for a stage, else the world's (WLD)."""
    for region in (importer, "WLD"):
        rows = table[(table["stage"] == stage) & (table["region"] == region)]
        if not rows.empty:
            return rows.iloc[-1], f"line {rows.index[-1]} ({stage}, {region})"
    return None


def _filled(given: float | None, table: pd.DataFrame | None, column: str, stage: str, importer: str,
            fallback: float, name: str, provenance: list[dict[str, Any]], table_name: str) -> float:
    """A given number, else the table's row for the importer or world, else the named assumption."""
    if given is not None:
        provenance.append({"item": name, "value": given, "source": "plan file"})
        return float(given)
    found = None if table is None or stage == "recycling" else _table_row(table, stage, importer)
    if found is not None and pd.notna(found[0][column]):
        provenance.append({"item": name, "value": float(found[0][column]), "source": f"{table_name} {found[1]}"})
        return float(found[0][column])
    provenance.append({"item": name, "value": fallback, "source": "assumption (docs/plan.md)"})
    return float(fallback)


def resolve_build(build: DomesticBuild, plan: Plan, dataset: Any, provenance: list[dict[str, Any]]) -> ResolvedBuild:
    """A domestic build with empty costs and times taken from the costs and lead_times tables."""
    costs = None if dataset is None else dataset["costs"]
    leads = None if dataset is None else dataset["lead_times"]
    stage, name = build.stage, build.name
    capex = _filled(build.capex_usd_per_tpa, costs, "capex_usd_per_tpa", stage, plan.importer,
                    assumptions.DEFAULT_CAPEX_USD_PER_TPA[stage], f"{name}/capex_usd_per_tpa", provenance, "costs.csv")
    opex = _filled(build.opex_usd_per_t, costs, "opex_usd_per_t", stage, plan.importer,
                   assumptions.DEFAULT_OPEX_USD_PER_T[stage], f"{name}/opex_usd_per_t", provenance, "costs.csv")
    lead = _filled(build.lead_time_years, leads, "lead_time_years", stage, plan.importer,
                   assumptions.DEFAULT_LEAD_YEARS[stage], f"{name}/lead_time_years", provenance, "lead_times.csv")
    ramp = _filled(build.ramp_up_years, leads, "ramp_up_years", stage, plan.importer,
                   assumptions.DEFAULT_RAMP_YEARS[stage], f"{name}/ramp_up_years", provenance, "lead_times.csv")
    probability = build.delay_probability
    if probability is None:
        probability = assumptions.DELAY_PROBABILITY[stage]
    delay_max = build.delay_years_max if build.delay_years_max is not None else assumptions.DELAY_YEARS_MAXIMUM[stage]
    resolved = ResolvedBuild(
        spec=build, capex_usd_per_tpa=capex, opex_usd_per_t=opex, lead_time_years=round(lead + 0.49),
        ramp_up_years=round(ramp), earliest_start=build.earliest_start or plan.horizon.start,
        delay_probability=probability, delay_years_max=delay_max,
    )
    for partnership in plan.technology:
        if name in partnership.targets:
            resolved = ResolvedBuild(
                **{**resolved.__dict__, "technology": partnership.name,
                   "lead_time_cut_years": partnership.lead_time_cut_years, "capex_cut": partnership.capex_cut,
                   "technology_cost_usd": partnership.cost_usd, "technology_partner": partnership.partner}
            )
    return resolved


def _members(dataset: Any, blocs: tuple[str, ...]) -> dict[str, frozenset[str]]:
    if dataset is None:
        return {}
    table = dataset["blocs"]
    return {bloc: frozenset(table[table["bloc"] == bloc]["country"].astype(str)) for bloc in blocs}


def candidate_offtakes(dataset: Any, chain: SupplyChain, plan: Plan) -> list[Offtake]:
    """Offtakes with the partners of the partnerships table that have capacity at a stage in the chain.

    A bloc agreement (QUAD, MSP, IPEF) stands for its members. The table gives partner, status and
    date; stage comes from where the partner has capacity, the largest volume is
    OFFTAKE_SHARE_OF_PARTNER_CAPACITY of it, premium and earliest start follow the status.
    """
    table = dataset["partnerships"]
    members = _members(dataset, tuple(sorted(set(dataset["blocs"]["bloc"].astype(str)))))
    capacity = chain["capacity"].isel(period=0)
    status_rank = {"operating": 0, "signed": 1, "negotiating": 2}
    best: dict[str, tuple[int, int]] = {}
    for row in table.itertuples():
        status = str(row.status)
        if status not in status_rank:
            continue
        year = int(str(row.date)[:4])
        for partner in members.get(str(row.partner), frozenset({str(row.partner)})):
            if partner == plan.importer or partner not in chain.countries:
                continue
            if partner not in best or status_rank[status] < best[partner][0]:
                best[partner] = (status_rank[status], year)
    offtakes = []
    statuses = {rank: status for status, rank in status_rank.items()}
    for partner, (rank, year) in sorted(best.items()):
        status = statuses[rank]
        start = max(plan.horizon.start + assumptions.OFFTAKE_START_DELAY_YEARS[status], year + 1)
        for stage in STAGES:
            volume = float(capacity.sel(stage=stage, country=partner)) * assumptions.OFFTAKE_SHARE_OF_PARTNER_CAPACITY
            if volume < 1.0 or start > plan.horizon.end:
                continue
            offtakes.append(Offtake(
                name=f"offtake-{partner}-{stage}", partner=partner, stage=stage,  # type: ignore[arg-type]
                maximum_t=round(volume, 1), premium=assumptions.OFFTAKE_PREMIUM[status],
                elements=("NdFeB",) if stage == "magnet" else ("REO",) if stage == "mining" else ("Nd", "Pr", "Dy"),
                earliest_start=start,
            ))
    return offtakes


def _resolve_offtake(offtake: Offtake, plan: Plan, prices: dict[str, float], yield_: float) -> ResolvedOfftake:
    price = prices[offtake.stage]
    premium = offtake.premium if offtake.premium is not None else assumptions.OFFTAKE_PREMIUM["signed"]
    reservation = offtake.reservation if offtake.reservation is not None else assumptions.OFFTAKE_RESERVATION
    start = offtake.earliest_start or plan.horizon.start
    return ResolvedOfftake(offtake, premium, reservation, start, price)


def _partner_arrays(baseline: Baseline, partners: set[str]) -> tuple[dict[tuple[str, str], np.ndarray], ...]:
    """Capacity and output per (partner, stage) and period from the baseline's utilisation table."""
    periods = list(baseline.chain.periods)
    output, size = _utilisation_lookup(baseline)
    capacity: dict[tuple[str, str], np.ndarray] = {}
    production: dict[tuple[str, str], np.ndarray] = {}
    for partner in partners:
        for stage in STAGES:
            keys = [(partner, stage, period) for period in periods]
            capacity[(partner, stage)] = np.array([size.get(key, 0.0) for key in keys])
            production[(partner, stage)] = np.array([output.get(key, 0.0) for key in keys])
    return capacity, production


def plan_inputs(plan: Plan, baseline: Baseline, dataset: Any = None) -> PlanInputs:
    """Resolve a plan against a solved baseline: the reduction's arrays and every option's numbers."""
    chain, importer = baseline.chain, plan.importer
    provenance: list[dict[str, Any]] = []
    conversions = conversions_for(chain, importer, dataset)
    magnet_value = float(baseline.result.scenario.settings.magnet_value_usd_per_kg)
    prices = market_prices(chain, dataset, conversions, provenance, magnet_value)
    demand = np.zeros((len(STAGES), len(chain.periods)))
    if MAGNET in chain.elements:
        demand[STAGES.index("magnet")] = (
            chain["demand"].sel(country=importer, element=MAGNET).sum("sector").values * chain.period_length)
    existing = np.stack([chain["capacity"].sel(stage=stage, country=importer).values for stage in STAGES])
    penalty = plan.shortfall_value_usd_per_kg
    if penalty is None and MAGNET in chain.elements:
        penalty = float(chain["willingness_to_pay"].sel(country=importer, element=MAGNET).max())
        provenance.append({"item": "shortfall_value_usd_per_kg", "value": penalty,
                           "source": "highest willingness-to-pay step of the importer's magnet demand (simulator)"})
    offtake_specs = list(plan.offtakes)
    if plan.partners_from_table and dataset is not None:
        named = {offtake.name for offtake in offtake_specs}
        offtake_specs += [item for item in candidate_offtakes(dataset, chain, plan) if item.name not in named]
    offtakes = tuple(_resolve_offtake(item, plan, prices, conversions.separation_yield) for item in offtake_specs)
    builds = tuple(resolve_build(build, plan, dataset, provenance) for build in plan.domestic)
    stock_prices = tuple(
        float(item.price_usd_per_kg) if item.price_usd_per_kg is not None else prices[item.stage]
        for item in plan.stockpiles
    )
    opex = {stage: float(chain["operating_cost"].sel(stage=stage, country=importer)) for stage in STAGES}
    partners = {item.spec.partner for item in offtakes}
    capacity, production = _partner_arrays(baseline, partners)
    return PlanInputs(
        plan=plan, importer=importer, periods=tuple(chain.periods), demand=demand, existing_capacity=existing,
        conversions=conversions, routes=routes_for(baseline, conversions), prices_usd_per_kg=prices,
        opex_usd_per_kg=opex, shortfall_value_usd_per_kg=float(penalty or 300.0), offtakes=offtakes, builds=builds,
        stockpile_prices=stock_prices, partner_capacity=capacity, partner_production=production,
        blocs=_members(dataset, plan.caps.blocs), provenance=provenance,
    )
