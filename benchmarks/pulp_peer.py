"""An independent PuLP formulation of the market LP of docs/simulation.md ("The LP", "Trade", "Supply").

Written from the documentation, not from raremap's code: its only input is a ``SupplyChain`` (the
arrays of ``raremap.model.supply_chain``, the model's *input*), and it decides on its own, from those
arrays, which plants, edges, buyers, stocks and routes exist, as docs/simulation.md ("Which entries
exist") says. Nothing else of ``raremap.model`` is imported. On the same chain its optimal objective
must equal that of ``raremap.model.equilibrium.build_model`` (tests/model/test_independent_formulation.py)
and it is the PuLP peer of benchmarks/simulate.py.

It is written as a PuLP user would write it: the arrays are read into numpy and plain label lookups
first (that reading counts as build time, as our build reads xarray), variables live in dicts keyed
by label tuples, created only where their entry exists, and every row is a sum over those dicts.
A row that bounds one variable by a constant (a demand step, an edge's cap, a stock's release
limit) is the variable's bound, as in the documented model.

    problem, variables = build_pulp(chain)  # the scenario's chain; the peer adds the run-out period itself
    objective = solve_pulp(problem)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pulp

from raremap.model.supply_chain import SupplyChain

MINING, SEPARATION, METAL, MAGNET = "mining", "separation", "metal", "magnet"
TRADED = (SEPARATION, METAL, MAGNET)
"""Stages whose goods move element by element as `Flow` (mining moves as `Concentrate-flow`)."""
PERIOD_TOLERANCE = 1e-9

Key = tuple[Any, ...]
Variables = dict[Key, pulp.LpVariable]
Terms = list[tuple[pulp.LpVariable, float]]


class Array:
    """One input array in numpy, looked up by labels in the order of its dimensions: ``array[c, e]``."""

    def __init__(self, chain: SupplyChain, name: str) -> None:
        data = chain[name]
        self.dimensions = [str(dimension) for dimension in data.dims]
        self.values = np.asarray(data.values, dtype=float)
        self.positions = [{_label(label): index for index, label in enumerate(data[dimension].values.tolist())}
                          for dimension in self.dimensions]

    def __getitem__(self, labels: Any) -> Any:
        labels = labels if isinstance(labels, tuple) else (labels,)
        index = tuple(label if isinstance(label, slice) else self.positions[axis][label]
                      for axis, label in enumerate(labels))
        return self.values[index]

    def at(self, *labels: Any) -> float:
        return float(self[labels])


def _label(value: Any) -> Any:
    return float(value) if isinstance(value, float) else value


@dataclass
class Market:
    """The chain's labels and arrays, and which entries of the LP exist (docs: "Which entries exist")."""

    countries: list[str]
    goods: list[str]
    oxides: list[str]  # separated elements, traded as oxide and metal
    products: list[str]  # magnet types
    sectors: list[str]
    steps: list[int]
    tiers: list[int]
    periods: list[float]
    years: dict[float, float]
    previous: dict[float, float]
    arrays: dict[str, Array]
    quotas: list[str] = field(default_factory=list)
    run_out: float | None = None  # the run-out period, if the LP has one
    # Which entries exist.
    plants: dict[tuple[str, str], bool] = field(default_factory=dict)  # (stage, country): a plant in some period
    investable: set[tuple[str, str, float]] = field(default_factory=set)  # (stage, country, period)
    in_recipe: set[str] = field(default_factory=set)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # (stage, exporter, importer, good)
    concentrate_edges: list[tuple[str, str]] = field(default_factory=list)
    stocks: list[tuple[str, str, str]] = field(default_factory=list)  # (stage, country, good)
    recycled: set[tuple[str, str]] = field(default_factory=set)  # (country, good): end-of-life recycling offers it

    def __getitem__(self, name: str) -> Array:
        return self.arrays[name]

    def holds_oxide(self, country: str) -> bool:
        """A separation plant, or a magnet plant that recovers process scrap as oxide."""
        return self.plants[SEPARATION, country] or (self.plants[MAGNET, country] and self["scrap_share"].at(country) > 0)


_ARRAYS = (
    "capacity", "operating_cost", "investment_cost", "investment_lead_years", "investment_rate_limit",
    "investment_pooled", "investment_pool_limit", "investment_committed", "investment_ceiling", "composition",
    "metal_factor", "is_product", "recipe", "magnet_pool", "pool_floor", "demand", "bundle", "willingness_to_pay",
    "step_share", "substitution_rate", "substitution_cost", "transport_cost", "route_cost", "handling_cost",
    "tariff", "flow_upper", "route_withheld", "base_flow", "contract", "contract_breach_cost", "route_growth", "reexport_allowed",
    "concentrate_route",
    "stock_initial", "stock_release_cost", "stock_release_limit", "stock_release_schedule", "stock_scheduled", "stock_refill",
    "stock_holding_cost", "recycling_available", "recycling_cost", "calibration_supply", "calibration_cost", "scrap_share",
    "finishing_cost",
)


def links_periods(chain: SupplyChain) -> bool:
    """Whether anything carries over from one period to the next: a stock held or refillable, a positive
    substitution rate, a finite investment lead time or a finite route growth (docs: "Run-out period")."""
    data = chain.data
    return bool(
        (data["stock_initial"] > 0).any() or (data["stock_refill"] > 0).any() or (data["substitution_rate"] > 0).any()
        or np.isfinite(data["investment_lead_years"]).any() or np.isfinite(data["route_growth"]).any()
    )


def read_market(chain: SupplyChain, run_out: bool | None = None) -> Market:
    """Read the chain's arrays and decide which plants, edges and stocks exist.

    With a run-out period (by default where periods link) the LP has one more period after the last,
    of the same length, in which every array has its last period's value, except that no stock
    release is scheduled.
    """
    data = chain.data
    arrays = {name: Array(chain, name) for name in _ARRAYS}
    quotas: list[str] = []
    if "quota" in data.dims and data.sizes["quota"] > 0:
        quotas = [str(quota) for quota in data["quota"].values]
        arrays["quota_member"] = Array(chain, "quota_member")
        arrays["quota_limit"] = Array(chain, "quota_limit")
    goods = [str(good) for good in data["element"].values]
    is_product = np.asarray(data["is_product"].values) > 0
    periods = [float(period) for period in data["period"].values]
    lengths = [float(length) for length in data["period_years"].values]
    extra: float | None = None
    if links_periods(chain) if run_out is None else run_out:
        extra = periods[-1] + lengths[-1]
        for array in arrays.values():
            if "period" in array.dimensions:
                positions = array.positions[array.dimensions.index("period")]
                positions[extra] = positions[periods[-1]]
        periods, lengths = [*periods, extra], [*lengths, lengths[-1]]
    market = Market(
        countries=[str(country) for country in data["country"].values],
        goods=goods,
        oxides=[good for good, product in zip(goods, is_product, strict=True) if not product],
        products=[good for good, product in zip(goods, is_product, strict=True) if product],
        sectors=[str(sector) for sector in data["sector"].values],
        steps=[int(step) for step in data["step"].values],
        tiers=[int(tier) for tier in data["tier"].values],
        periods=periods,
        years=dict(zip(periods, lengths, strict=True)),
        previous=dict(zip(periods[1:], periods[:-1], strict=True)),
        arrays=arrays,
        quotas=quotas,
        run_out=extra,
    )
    _decide_what_exists(market)
    return market


def _decide_what_exists(market: Market) -> None:
    """Plants, investment, recipe elements, trade edges and stocks, from the arrays alone."""
    countries, periods = market.countries, market.periods
    first = periods[0]
    lead, committed, capacity = market["investment_lead_years"], market["investment_committed"], market["capacity"]
    for stage in (MINING, SEPARATION, METAL, MAGNET):
        for country in countries:
            delay = lead.at(stage, country)
            for period in periods:
                ready = np.isfinite(delay) and period >= first + delay - PERIOD_TOLERANCE
                if ready or committed.at(stage, country, period) > 0:
                    market.investable.add((stage, country, period))
            market.plants[stage, country] = bool((capacity[stage, country, slice(None)] > 0).any()) or any(
                (stage, country, period) in market.investable for period in periods)
    recipe = market["recipe"]
    market.in_recipe = {oxide for oxide in market.oxides if any(recipe.at(product, oxide) > 0 for product in market.products)}

    demand, bundle = market["demand"], market["bundle"]
    bought = {(country, good) for country in countries for sector in market.sectors for good in market.goods
              if bundle.at(country, sector, good) > 0 and float(demand[country, sector, slice(None)].max()) > 0}
    calibrated = {(country, good) for country in countries for good in market.goods
                  if market["calibration_supply"].at(country, good) > 0}
    recycled = market.recycled = {(country, good) for country in countries for good in market.goods
                                  if float(market["recycling_available"][country, good, slice(None), slice(None)].max()) > 0}
    held = {(stage, country, good) for stage in TRADED for country in countries for good in market.goods
            if market["stock_initial"].at(stage, country, good) > 0 or market["stock_refill"].at(stage, country, good) > 0}
    market.stocks = sorted(held)

    def makes(stage: str, country: str, good: str) -> bool:
        if stage == SEPARATION:  # recycled magnets are leached to oxide
            return good in market.oxides and (market.holds_oxide(country) or (country, good) in calibrated
                                              or (good in market.in_recipe and (country, good) in recycled))
        if stage == METAL:
            return good in market.in_recipe and market.plants[METAL, country]
        return good in market.products and (market.plants[MAGNET, country] or (country, good) in calibrated)

    def uses(stage: str, country: str, good: str) -> bool:
        if stage == SEPARATION:
            return good in market.oxides and ((market.plants[METAL, country] and good in market.in_recipe)
                                              or (country, good) in bought)
        if stage == METAL:
            return good in market.in_recipe and market.plants[MAGNET, country]
        return good in market.products and (country, good) in bought

    market.edges = [
        (stage, exporter, importer, good)
        for stage in TRADED for good in market.goods for exporter in countries for importer in countries
        if exporter != importer and uses(stage, importer, good)
        and (makes(stage, exporter, good) or (stage, exporter, good) in held)
    ]
    market.concentrate_edges = [
        (miner, separator) for miner in countries for separator in countries
        if market.plants[MINING, miner] and market.plants[SEPARATION, separator]
        and market["concentrate_route"].at(miner, separator) > 0
    ]


def _bound(rate: float, years: float) -> float | None:
    """An upper bound in tonnes per period from a rate per year; None where the rate is unbounded."""
    return rate * years if np.isfinite(rate) else None


class PeerModel:
    """The LP in PuLP: variables in dicts keyed by labels, rows added family by family."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.problem = pulp.LpProblem("raremap_peer", pulp.LpMinimize)
        self.variables: dict[str, Variables] = {}
        self.finishing: Terms = []  # finishing cost of the co-products sold, gathered with the balances
        self._names = 0

    # -- variables ------------------------------------------------------------------------------
    def add_family(self, family: str, entries: Iterable[tuple[Key, float | None]]) -> Variables:
        """Variables >= 0 for each (key, upper bound), named by the family and a running number."""
        made: Variables = {}
        for key, upper in entries:
            self._names += 1
            made[key] = self.problem.add_variable(f"{family.replace('-', '_')}_{self._names}", 0, upper)
        self.variables[family] = made
        return made

    def add_variables(self) -> None:
        market, arrays = self.market, self.market.arrays
        countries, periods, years = market.countries, market.periods, market.years
        oxides, products = market.oxides, market.products
        plants = market.plants
        capacity = arrays["capacity"]
        self.add_family("Mining-production", (((country, period), None) for country in countries for period in periods
                                              if capacity.at(MINING, country, period) > 0
                                              or (MINING, country, period) in market.investable))
        flow_upper = arrays["flow_upper"]
        self.add_family("Concentrate-flow", (
            ((miner, separator, period), _bound(float(flow_upper[MINING, miner, separator, slice(None), period].min()),
                                                years[period]))
            for miner, separator in market.concentrate_edges for period in periods))
        self.add_family("Separation-surplus", (((country, oxide, period), None) for country in countries for oxide in oxides
                                               if market.holds_oxide(country) or (country, oxide) in market.recycled
                                               for period in periods))
        self.add_family("Flow", (((stage, exporter, importer, good, period),
                                  _bound(flow_upper.at(stage, exporter, importer, good, period), years[period]))
                                 for stage, exporter, importer, good in market.edges for period in periods))
        self.add_family("Metal-production", (((country, oxide, period), None) for country in countries
                                             if plants[METAL, country] for oxide in oxides if oxide in market.in_recipe
                                             for period in periods))
        self.add_family("Magnet-production", (((country, product, period), None) for country in countries
                                              if plants[MAGNET, country] for product in products for period in periods))
        pool = arrays["magnet_pool"]
        self.add_family("Magnet-metal-use", (((country, oxide, period), None) for country in countries
                                             if plants[MAGNET, country] for oxide in oxides if pool.at(oxide) > 0
                                             for period in periods))
        self._add_demand_variables()
        self.add_family("New-capacity", ((entry, None) for entry in sorted(market.investable)))
        available = arrays["recycling_available"]
        self.add_family("Recycling-supply", (((country, good, tier, period), available.at(country, good, tier, period) * years[period])
                                             for country in countries for good in market.goods for tier in market.tiers
                                             for period in periods if available.at(country, good, tier, period) > 0))
        self.add_family("Recycling-share", (((country, tier, period), 1.0) for country in countries for tier in market.tiers
                                            for period in periods
                                            if any(available.at(country, good, tier, period) > 0 for good in market.goods)))
        calibration = arrays["calibration_supply"]
        self.add_family("Calibration-supply", (((country, good, period), calibration.at(country, good) * years[period])
                                               for country in countries for good in market.goods
                                               for period in periods if calibration.at(country, good) * years[period] > 0))
        self._add_trade_variables()
        self._add_stock_variables()

    def _add_demand_variables(self) -> None:
        market, arrays = self.market, self.market.arrays
        demand, value, share = arrays["demand"], arrays["willingness_to_pay"], arrays["step_share"]
        self.add_family("Served", (
            ((country, sector, step, period), share.at(step) * demand.at(country, sector, period) * market.years[period])
            for country in market.countries for sector in market.sectors for step in market.steps for period in market.periods
            if demand.at(country, sector, period) > 0 and value.at(country, sector, step) > 0 and share.at(step) > 0))
        rate = arrays["substitution_rate"]
        substituting = [(country, sector) for country in market.countries for sector in market.sectors
                        if float(rate[country, sector, slice(None)].max()) > 0
                        and float(demand[country, sector, slice(None)].max()) > 0]
        self.add_family("Substitution-share", (((country, sector, period), 1.0) for country, sector in substituting
                                               for period in market.periods))

    def _add_trade_variables(self) -> None:
        market, arrays = self.market, self.market.arrays
        base, growth, contract = arrays["base_flow"], arrays["route_growth"], arrays["contract"]
        base_imports: dict[tuple[str, str, str], float] = defaultdict(float)
        for stage, exporter, importer, good in ((s, x, m, g) for s in TRADED for x in market.countries
                                                for m in market.countries for g in market.goods):
            base_imports[stage, importer, good] += base.at(stage, exporter, importer, good)
        sticky = [(stage, exporter, importer, good) for stage, exporter, importer, good in market.edges
                  if np.isfinite(growth.at(stage, importer, good)) and base_imports[stage, importer, good] > 0]
        self.base_imports = base_imports
        self.add_family("Route-new", (((*edge, period), None) for edge in sticky for period in market.periods))
        importers = sorted({(stage, importer, good) for stage, _, importer, good in sticky})
        self.add_family("Route-imports", (((*entry, period), None) for entry in importers for period in market.periods))
        self.add_family("Contract-breach", (((*edge, period), None) for edge in market.edges for period in market.periods
                                            if contract.at(*edge, period) > 0))

    def _add_stock_variables(self) -> None:
        market, refill = self.market, self.market["stock_refill"]
        entries = [(*stock, period) for stock in market.stocks for period in market.periods]
        self.add_family("Stock-level", ((entry, None) for entry in entries))
        self.add_family("Stock-release", ((entry, None) for entry in entries))
        self.add_family("Stock-purchase", ((entry, None) for entry in entries if refill.at(*entry[:3]) > 0))

    # -- rows -------------------------------------------------------------------------------------
    def add_row(self, terms: Terms, sense: str, right: float, name: str) -> None:
        """terms (sense) right, unless there is no term (then there is nothing to constrain)."""
        expression = expression_of(terms)
        if not expression:
            return
        if sense == "<=":
            self.problem += (expression <= right, name)
        elif sense == ">=":
            self.problem += (expression >= right, name)
        else:
            self.problem += (expression == right, name)

    def row_name(self, family: str) -> str:
        self._names += 1
        return f"{family.replace('-', '_')}_{self._names}"

    def terms(self, family: str, key: Key, coefficient: float = 1.0) -> Terms:
        """[(variable, coefficient)] if the variable exists, else nothing (an absent entry adds 0)."""
        variable = self.variables[family].get(key)
        return [] if variable is None else [(variable, coefficient)]


def add_production_rows(model: PeerModel) -> None:
    """Capacity (every period of a plant that exists in any), investment rules, and the NdPr pool."""
    market, arrays, variables = model.market, model.market.arrays, model.variables
    capacity = arrays["capacity"]
    fed: dict[tuple[str, float], Terms] = defaultdict(list)
    for (_, separator, period), variable in variables["Concentrate-flow"].items():
        fed[separator, period].append((variable, 1.0))
    for stage in (MINING, SEPARATION, METAL, MAGNET):
        for country in market.countries:
            if not market.plants[stage, country]:
                continue
            for period in market.periods:
                years = market.years[period]
                if stage == MINING:
                    output = model.terms("Mining-production", (country, period))
                elif stage == SEPARATION:
                    output = fed[country, period]
                else:
                    family = "Metal-production" if stage == METAL else "Magnet-production"
                    output = [term for good in market.goods for term in model.terms(family, (country, good, period))]
                output = output + model.terms("New-capacity", (stage, country, period), -years)
                model.add_row(output, "<=", capacity.at(stage, country, period) * years, model.row_name(f"{stage}-capacity-upper"))
    add_investment_rows(model)
    add_pool_rows(model)


def add_investment_rows(model: PeerModel) -> None:
    """New capacity never shrinks; it grows at most at a rate per country, and per pool together."""
    market, arrays = model.market, model.market.arrays
    new = model.variables["New-capacity"]
    rate, pooled, pool_limit = arrays["investment_rate_limit"], arrays["investment_pooled"], arrays["investment_pool_limit"]
    committed, ceiling = arrays["investment_committed"], arrays["investment_ceiling"]
    added_in_pool: dict[tuple[str, float], Terms] = defaultdict(list)
    for (stage, country, period), variable in new.items():
        years = market.years[period]
        before = market.previous.get(period)
        added = [(variable, 1.0)] + (model.terms("New-capacity", (stage, country, before), -1.0) if before is not None else [])
        model.add_row(added, ">=", 0.0, model.row_name("Investment-irreversible-lower"))
        if np.isfinite(rate.at(stage, country)):
            model.add_row(added, "<=", rate.at(stage, country) * years, model.row_name("Investment-rate-upper"))
        if pooled.at(stage, country) > 0:
            added_in_pool[stage, period] += added
        if committed.at(stage, country, period) > 0:
            model.add_row([(variable, 1.0)], ">=", committed.at(stage, country, period), model.row_name("Investment-committed-lower"))
        if np.isfinite(ceiling.at(stage, country, period)):
            model.add_row([(variable, 1.0)], "<=", ceiling.at(stage, country, period), model.row_name("Investment-ceiling-upper"))
    for (stage, period), added in added_in_pool.items():
        if np.isfinite(pool_limit.at(stage, period)):
            model.add_row(added, "<=", pool_limit.at(stage, period) * market.years[period], model.row_name("Investment-pool-upper"))


def add_pool_rows(model: PeerModel) -> None:
    """Pool metal per magnet fixed by the recipe; a member with a floor keeps at least its own share."""
    market, arrays = model.market, model.market.arrays
    recipe, pool, floor = arrays["recipe"], arrays["magnet_pool"], arrays["pool_floor"]
    members = [oxide for oxide in market.oxides if pool.at(oxide) > 0]
    content = {product: sum(recipe.at(product, oxide) * pool.at(oxide) for oxide in market.oxides) for product in market.products}
    for country in market.countries:
        if not market.plants[MAGNET, country] or not members:
            continue
        for period in market.periods:
            made = {product: model.terms("Magnet-production", (country, product, period)) for product in market.products}
            balance = [term for oxide in members for term in model.terms("Magnet-metal-use", (country, oxide, period))]
            balance += [(variable, -content[product]) for product, terms in made.items() for variable, _ in terms]
            model.add_row(balance, "==", 0.0, model.row_name("Magnet-pool-balance"))
            for oxide in members:
                if max(recipe.at(product, oxide) * floor.at(oxide) for product in market.products) <= 0:
                    continue
                lower = model.terms("Magnet-metal-use", (country, oxide, period))
                lower += [(variable, -recipe.at(product, oxide) * floor.at(oxide))
                          for product, terms in made.items() for variable, _ in terms]
                model.add_row(lower, ">=", 0.0, model.row_name("Magnet-recipe-lower"))


def add_balance_rows(model: PeerModel) -> None:
    """Mining, Separation, Metal and Magnet balances per country x good x period (their duals are prices)."""
    market, arrays, variables = model.market, model.market.arrays, model.variables
    composition, metal_factor, recipe = arrays["composition"], arrays["metal_factor"], arrays["recipe"]
    pool, bundle = arrays["magnet_pool"], arrays["bundle"]
    shipped: dict[tuple[str, float], Terms] = defaultdict(list)
    separated: dict[tuple[str, str, float], Terms] = defaultdict(list)
    for (miner, separator, period), variable in variables["Concentrate-flow"].items():
        shipped[miner, period].append((variable, -1.0))
        for oxide in market.oxides:
            if composition.at(miner, oxide) > 0:
                separated[separator, oxide, period].append((variable, composition.at(miner, oxide)))
    net: dict[tuple[str, str, str, float], Terms] = defaultdict(list)  # arrivals - shipments per market
    for (stage, exporter, importer, good, period), variable in variables["Flow"].items():
        net[stage, importer, good, period].append((variable, 1.0))
        net[stage, exporter, good, period].append((variable, -1.0))
    for (stage, country, good, period), variable in variables["Stock-release"].items():
        net[stage, country, good, period].append((variable, 1.0))
    for (stage, country, good, period), variable in variables["Stock-purchase"].items():
        net[stage, country, good, period].append((variable, -1.0))
    bought: dict[tuple[str, str, float], Terms] = defaultdict(list)
    for (country, sector, _, period), variable in variables["Served"].items():
        for good in market.goods:
            if bundle.at(country, sector, good) > 0:
                bought[country, good, period].append((variable, -bundle.at(country, sector, good)))
    for country in market.countries:
        for period in market.periods:
            mined = model.terms("Mining-production", (country, period)) + shipped[country, period]
            model.add_row(mined, "==", 0.0, model.row_name("Mining-balance"))
            for oxide in market.oxides:
                row = separated[country, oxide, period] + net[SEPARATION, country, oxide, period] + bought[country, oxide, period]
                row += model.terms("Calibration-supply", (country, oxide, period))
                row += scrap_oxide(model, country, oxide, period, 1.0) + recycled_oxide(model, country, oxide, period, 1.0)
                row += model.terms("Metal-production", (country, oxide, period), -1.0 / metal_factor.at(oxide))
                row += model.terms("Separation-surplus", (country, oxide, period), -1.0)
                model.add_row(row, "==", 0.0, model.row_name("Separation-balance"))
                add_finishing(model, separated[country, oxide, period] + scrap_oxide(model, country, oxide, period, 1.0)
                              + recycled_oxide(model, country, oxide, period, 1.0),
                              model.terms("Separation-surplus", (country, oxide, period)), oxide)
                row = model.terms("Metal-production", (country, oxide, period)) + net[METAL, country, oxide, period]
                row += model.terms("Magnet-metal-use", (country, oxide, period), -1.0)
                row += [term for product in market.products
                        for term in model.terms("Magnet-production", (country, product, period),
                                                -recipe.at(product, oxide) * (1.0 - pool.at(oxide)))]
                model.add_row(row, "==", 0.0, model.row_name("Metal-balance"))
            for product in market.products:
                row = model.terms("Magnet-production", (country, product, period)) + net[MAGNET, country, product, period]
                row += model.terms("Calibration-supply", (country, product, period)) + bought[country, product, period]
                model.add_row(row, "==", 0.0, model.row_name("Magnet-balance"))


def add_finishing(model: PeerModel, made: Terms, surplus: Terms, oxide: str) -> None:
    """A co-product with a finishing cost: paid on what is made less what is left unsold, which is at most
    what was made."""
    cost = model.market.arrays["finishing_cost"].at(oxide)
    if cost <= 0:
        return
    if surplus:
        model.add_row(surplus + [(variable, -share) for variable, share in made], "<=", 0.0,
                      model.row_name("Separation-surplus-upper"))
    model.finishing += [(variable, cost * share) for variable, share in made] + [(variable, -cost) for variable, _ in surplus]


def add_trade_rows(model: PeerModel) -> None:
    """Tonnage quotas, contracts, sticky routes, and no re-export of what a country did not make."""
    market, arrays, variables = model.market, model.market.arrays, model.variables
    if market.quotas:
        member, limit = arrays["quota_member"], arrays["quota_limit"]
        covered: dict[tuple[str, float], Terms] = defaultdict(list)
        for quota in market.quotas:
            for (stage, exporter, importer, good, period), variable in variables["Flow"].items():
                if member.at(quota, stage, exporter, importer, good) > 0:
                    covered[quota, period].append((variable, member.at(quota, stage, exporter, importer, good)))
            for (miner, separator, period), variable in variables["Concentrate-flow"].items():
                # Concentrate carries every element of its ore: covered if any of them is.
                covered[quota, period].append((variable, float(member[quota, MINING, miner, separator, slice(None)].max())))
            for period in market.periods:
                if not np.isnan(limit.at(quota, period)):
                    model.add_row(covered[quota, period], "<=", limit.at(quota, period) * market.years[period],
                                  model.row_name("Flow-quota-upper"))
    contract = arrays["contract"]
    for key, breach in variables["Contract-breach"].items():
        model.add_row([(variables["Flow"][key], 1.0), (breach, 1.0)], ">=", contract.at(*key) * market.years[key[-1]],
                      model.row_name("Contract-lower"))
    add_route_rows(model)
    add_own_output_rows(model)


def add_route_rows(model: PeerModel) -> None:
    """A supplier's share of a sticky importer's imports exceeds its base-year share only by what has moved."""
    market, arrays, variables = model.market, model.market.arrays, model.variables
    base, growth = arrays["base_flow"], arrays["route_growth"]
    first = market.periods[0]
    arriving: dict[Key, Terms] = defaultdict(list)
    moved: dict[Key, Terms] = defaultdict(list)
    withheld: dict[Key, float] = defaultdict(float)
    for (stage, exporter, importer, good, period), new in variables["Route-new"].items():
        flow = variables["Flow"][stage, exporter, importer, good, period]
        imports = variables["Route-imports"][stage, importer, good, period]
        arriving[stage, importer, good, period].append((flow, -1.0))
        # What an export restriction keeps off the edge still counts in the importer's imports.
        withheld[stage, importer, good, period] += arrays["route_withheld"].at(stage, exporter, importer, good, period) * market.years[period]
        moved[stage, importer, good, period].append((new, 1.0))
        share = base.at(stage, exporter, importer, good) / model.base_imports[stage, importer, good]
        model.add_row([(flow, 1.0), (imports, -share), (new, -1.0)], "<=", 0.0, model.row_name("Route-share-upper"))
    for key, imports in variables["Route-imports"].items():
        stage, importer, good, period = key
        # Flows on every edge into the importer (all are sticky edges: stickiness is per importer and good).
        model.add_row([(imports, 1.0), *arriving[key]], "==", withheld[key], model.row_name("Route-imports-balance"))
        since = period + market.years[period] - first  # years from the base year's start to this period's end
        model.add_row([*moved[key], (imports, -growth.at(stage, importer, good) * since)], "<=", 0.0,
                      model.row_name("Route-growth-upper"))


def recycled_oxide(model: PeerModel, country: str, oxide: str, period: float, sign: float) -> Terms:
    """End-of-life recovery (every tier), counted in t metal, as the oxide it is sold as."""
    factor = sign / model.market.arrays["metal_factor"].at(oxide)
    return [term for tier in model.market.tiers for term in model.terms("Recycling-supply", (country, oxide, tier, period), factor)]


def scrap_oxide(model: PeerModel, country: str, oxide: str, period: float, sign: float) -> Terms:
    """Oxide back from the country's process scrap: scrap_share of the metal it puts into magnets."""
    arrays = model.market.arrays
    share = arrays["scrap_share"].at(country) / arrays["metal_factor"].at(oxide) * sign
    if share == 0:
        return []
    recipe, pool = arrays["recipe"], arrays["magnet_pool"]
    terms = model.terms("Magnet-metal-use", (country, oxide, period), share)
    for product in model.market.products:
        content = recipe.at(product, oxide) * (1.0 - pool.at(oxide))
        if content > 0:
            terms += model.terms("Magnet-production", (country, product, period), share * content)
    return terms


def add_own_output_rows(model: PeerModel) -> None:
    """A country that could also receive a good (imports or a stock of it) exports at most what it made."""
    market, variables = model.market, model.variables
    exports: dict[Key, Terms] = defaultdict(list)
    receives: set[tuple[str, str, str]] = {(stage, country, good) for stage, country, good in market.stocks}
    for stage, _, importer, good in market.edges:
        receives.add((stage, importer, good))
    for (stage, exporter, _, good, period), variable in variables["Flow"].items():
        exports[stage, exporter, good, period].append((variable, 1.0))
    separated: dict[tuple[str, str, float], Terms] = defaultdict(list)
    composition = market["composition"]
    for (miner, separator, period), variable in variables["Concentrate-flow"].items():
        for oxide in market.oxides:
            if composition.at(miner, oxide) > 0:
                separated[separator, oxide, period].append((variable, -composition.at(miner, oxide)))
    allowed = market["reexport_allowed"]
    for (stage, country, good, period), shipped in exports.items():
        if (stage, country, good) not in receives or allowed.at(stage, country, good, period) > 0:
            continue
        if stage == SEPARATION:
            own = separated[country, good, period] + model.terms("Calibration-supply", (country, good, period), -1.0)
            own += scrap_oxide(model, country, good, period, -1.0) + recycled_oxide(model, country, good, period, -1.0)
        elif stage == METAL:
            own = model.terms("Metal-production", (country, good, period), -1.0)
        else:
            own = model.terms("Magnet-production", (country, good, period), -1.0)
            own += model.terms("Calibration-supply", (country, good, period), -1.0)
        model.add_row(shipped + own, "<=", 0.0, model.row_name(f"{stage}-export-own-output-upper"))


def add_demand_rows(model: PeerModel) -> None:
    """Served plus substituted demand within demand; substitution adopted at most at its rate, never undone."""
    market, arrays, variables = model.market, model.market.arrays, model.variables
    demand, rate = arrays["demand"], arrays["substitution_rate"]
    served: dict[tuple[str, str, float], Terms] = defaultdict(list)
    for (country, sector, _, period), variable in variables["Served"].items():
        served[country, sector, period].append((variable, 1.0))
    substitution = variables["Substitution-share"]
    for (country, sector, period), terms in served.items():
        wanted = demand.at(country, sector, period) * market.years[period]
        model.add_row(terms + model.terms("Substitution-share", (country, sector, period), wanted), "<=", wanted,
                      model.row_name("Demand-total-upper"))
    for (country, sector, period), share in substitution.items():
        before = market.previous.get(period)
        adoption = [(share, 1.0)] + (model.terms("Substitution-share", (country, sector, before), -1.0) if before is not None else [])
        model.add_row(adoption, "<=", rate.at(country, sector, period) * market.years[period], model.row_name("Substitution-rate-upper"))
        model.add_row(adoption, ">=", 0.0, model.row_name("Substitution-irreversible-lower"))


def add_stock_rows(model: PeerModel) -> None:
    """Stock carried from period to period; release within its limit, or exactly its schedule; a
    refillable stock no higher than its size."""
    market, arrays = model.market, model.market.arrays
    initial, limit, schedule = arrays["stock_initial"], arrays["stock_release_limit"], arrays["stock_release_schedule"]
    scheduled, refill = arrays["stock_scheduled"], arrays["stock_refill"]
    first = market.periods[0]
    for stage, country, good in market.stocks:
        for period in market.periods:
            key = (stage, country, good, period)
            before = market.previous.get(period)
            balance = model.terms("Stock-level", key) + model.terms("Stock-purchase", key, -1.0) + model.terms("Stock-release", key)
            if before is not None:
                balance += model.terms("Stock-level", (stage, country, good, before), -1.0)
            model.add_row(balance, "==", initial.at(stage, country, good) if period == first else 0.0, model.row_name("Stock-balance"))
            if np.isfinite(limit.at(stage, country, good)):
                model.add_row(model.terms("Stock-release", key), "<=", limit.at(stage, country, good) * market.years[period],
                              model.row_name("Stock-release-upper"))
            if scheduled.at(stage, country, good) > 0:
                release = schedule.at(*key) if period != market.run_out else 0.0
                model.add_row(model.terms("Stock-release", key), "==", release, model.row_name("Stock-schedule-equal"))
            if refill.at(stage, country, good) > 0:
                model.add_row(model.terms("Stock-level", key), "<=", initial.at(stage, country, good), model.row_name("Stock-level-upper"))


def add_recycling_rows(model: PeerModel) -> None:
    """A recycling tier takes the same share of every element it offers (retired magnets give up all
    their rare earths at once)."""
    market, available = model.market, model.market.arrays["recycling_available"]
    for (country, good, tier, period), variable in model.variables["Recycling-supply"].items():
        offered = available.at(country, good, tier, period) * market.years[period]
        model.add_row([(variable, 1.0), *model.terms("Recycling-share", (country, tier, period), -offered)], "==", 0.0,
                      model.row_name("Recycling-joint-equal"))


def objective(model: PeerModel) -> pulp.LpAffineExpression:
    """Operating, transport, capital, contract, stock, substitution, recycling, calibration and finishing
    cost, minus what buyers are willing to pay for what they are served."""
    market, arrays, variables = model.market, model.market.arrays, model.variables
    cost, years = arrays["operating_cost"], market.years
    transport, route, handling, tariff = arrays["transport_cost"], arrays["route_cost"], arrays["handling_cost"], arrays["tariff"]
    terms: Terms = []
    terms += [(variable, cost.at(MINING, country)) for (country, _), variable in variables["Mining-production"].items()]
    for (miner, separator, period), variable in variables["Concentrate-flow"].items():
        terms.append((variable, cost.at(SEPARATION, separator)))  # separation's cost per t REO fed
        if miner != separator:
            freight = transport.at(MINING) + route.at(MINING, miner, separator)
            terms.append((variable, freight + float(tariff[MINING, miner, separator, slice(None), period].max())))
    terms += [(variable, cost.at(METAL, country)) for (country, _, _), variable in variables["Metal-production"].items()]
    terms += [(variable, cost.at(MAGNET, country)) for (country, _, _), variable in variables["Magnet-production"].items()]
    for (stage, exporter, importer, good, period), variable in variables["Flow"].items():
        per_kg = transport.at(stage) + route.at(stage, exporter, importer) + handling.at(good)
        terms.append((variable, per_kg + tariff.at(stage, exporter, importer, good, period)))
    value = arrays["willingness_to_pay"]
    terms += [(variable, -value.at(country, sector, step)) for (country, sector, step, _), variable in variables["Served"].items()]
    capital = arrays["investment_cost"]
    terms += [(variable, capital.at(stage, country) * years[period])
              for (stage, country, period), variable in variables["New-capacity"].items()]
    breach = arrays["contract_breach_cost"]
    terms += [(variable, breach.at(key[3])) for key, variable in variables["Contract-breach"].items()]
    holding, release = arrays["stock_holding_cost"], arrays["stock_release_cost"]
    terms += [(variable, holding.at(good) * years[period]) for (_, _, good, period), variable in variables["Stock-level"].items()]
    terms += [(variable, release.at(stage, country, good)) for (stage, country, good, _), variable in variables["Stock-release"].items()]
    substitute, demand = arrays["substitution_cost"], arrays["demand"]
    for (country, sector, period), variable in variables["Substitution-share"].items():
        lowest = float(value[country, sector, slice(None)].min())
        net = (substitute.at(country, sector) - lowest) * demand.at(country, sector, period) * years[period]
        terms.append((variable, net))
    recycling = arrays["recycling_cost"]
    terms += [(variable, recycling.at(tier)) for (_, _, tier, _), variable in variables["Recycling-supply"].items()]
    calibration = arrays["calibration_cost"]
    terms += [(variable, calibration.at(good)) for (_, good, _), variable in variables["Calibration-supply"].items()]
    terms += model.finishing
    return expression_of(terms)


def expression_of(terms: Terms) -> pulp.LpAffineExpression:
    """The sum of coefficient x variable over terms (a variable may appear more than once)."""
    summed: dict[pulp.LpVariable, float] = defaultdict(float)
    for variable, coefficient in terms:
        summed[variable] += coefficient
    return pulp.LpAffineExpression([(variable, coefficient) for variable, coefficient in summed.items() if coefficient != 0.0])


def build_pulp(chain: SupplyChain, run_out: bool | None = None) -> tuple[pulp.LpProblem, dict[str, Variables]]:
    """The welfare-maximising LP of `chain` in PuLP (minimising cost minus value), and its variables.

    `run_out`: whether to add the run-out period; by default where periods link, as the documented model does.
    """
    model = PeerModel(read_market(chain, run_out))
    model.add_variables()
    add_production_rows(model)
    add_balance_rows(model)
    add_trade_rows(model)
    add_demand_rows(model)
    add_stock_rows(model)
    add_recycling_rows(model)
    model.problem += objective(model)
    return model.problem, model.variables


def cbc() -> pulp.COIN_CMD:
    """The CBC binary bundled with PuLP (what PULP_CBC_CMD runs, without its PuLP 4 deprecation warning)."""
    return pulp.COIN_CMD(path=pulp.apis.coin_api.pulp_cbc_path, msg=False)


def solve_pulp(problem: pulp.LpProblem, solver: pulp.LpSolver | None = None) -> float:
    """Solve (CBC by default); the optimal objective (raises unless the status is Optimal)."""
    status = problem.solve(solver or cbc())
    if pulp.LpStatus[status] != "Optimal":
        raise RuntimeError(f"PuLP did not solve the LP to optimality: status {pulp.LpStatus[status]}")
    return float(pulp.value(problem.objective) or 0.0)


def entries(variables: dict[str, Variables]) -> dict[str, int]:
    """How many variables of each family the peer created (for comparing model sizes)."""
    return {family: len(made) for family, made in variables.items()}


__all__: Sequence[str] = ("build_pulp", "cbc", "entries", "links_periods", "read_market", "solve_pulp")
