"""An independent PuLP formulation of the spatial partial-equilibrium LP of docs/simulation.md.

This is the peer of ``raremap.model.equilibrium.build_model`` in the side-by-side benchmark, and an
independent cross-check of that model: on the same SupplyChain its optimal objective must equal
ours. It is written the way a PuLP user would write the model from the documentation, not from
linopy's matrices: the xarray inputs are read into numpy lookups first (that reading counts as build
time, as our build reads xarray), variables are created only for the entries that exist (the masks
of ``network``), kept in dicts keyed by label tuples, and every row is ``lpSum`` over a generator.

Rows that bound one variable by a constant are variable bounds here: mining and magnet capacity,
export bans and per-edge quotas, demand steps, stock release limits, calibration and recycling
availability. Rows without any variable are not added; mining variables exist only for countries
with mining capacity, and separation surplus only where some oxide can be supplied. So the problem
has fewer rows and columns than ours, and the same optimum.

    problem, variables = build_pulp(chain)
    objective = solve_pulp(problem)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pulp
import xarray as xr

from raremap.model.equilibrium import network
from raremap.model.supply_chain import MAGNET, SupplyChain

Key = tuple[Any, ...]
Terms = list[tuple[float, pulp.LpVariable]]
VariableDict = dict[Key, pulp.LpVariable]

_INPUTS = (
    "capacity",
    "operating_cost",
    "transport_cost",
    "route_cost",
    "composition",
    "metal_factor",
    "magnet_recipe",
    "magnet_pool",
    "magnet_recipe_min",
    "demand",
    "willingness_to_pay",
    "step_share",
    "flow_upper",
    "delay_share",
    "tariff",
    "substitution_rate",
    "substitution_cost",
    "recycling_to_separation",
    "recycling_to_metal",
    "recycling_cost",
    "stock_initial",
    "stock_release_cost",
    "stock_release_limit",
    "stock_refill",
    "stock_holding_cost",
    "calibration_supply",
    "calibration_cost",
)
"""The SupplyChain arrays the LP reads; each is looked up in its own (the schema's) dimension order."""


class Table:
    """One input array read into numpy, looked up by coordinate labels: ``table[label, ...]`` -> float."""

    def __init__(self, array: xr.DataArray, dimensions: Sequence[str]) -> None:
        ordered = array.transpose(*dimensions)
        self.values = np.asarray(ordered.values, dtype=float)
        self.positions = [
            {label: index for index, label in enumerate(ordered[dimension].values.tolist())}
            for dimension in dimensions
        ]

    def __getitem__(self, key: Any) -> float:
        labels = key if isinstance(key, tuple) else (key,)
        return float(self.values.item(tuple(map(dict.__getitem__, self.positions, labels))))


@dataclass
class Inputs:
    """Everything the LP reads from a SupplyChain: labels, numpy lookups and the entries that exist."""

    countries: list[str]
    elements: list[str]
    separated: list[str]
    steps: list[int]
    periods: list[int]
    length: int
    tables: dict[str, Table]
    quotas: list[str]
    miners: list[str]
    concentrate_edges: list[Key]
    flow_edges: list[Key]
    metal_plants: list[Key]
    magnet_plants: list[str]
    demand_entries: list[Key]
    demand_positive: list[Key]
    substitution_entries: list[Key]
    stock_entries: list[Key]
    pool_entries: list[Key]
    calibration_entries: list[Key]
    previous: dict[int, int]
    """The period before each period but the first."""


def _entries(mask: xr.DataArray, dimensions: Sequence[str]) -> list[Key]:
    """The label tuples where a boolean mask is true."""
    ordered = mask.transpose(*dimensions)
    labels = [ordered[dimension].values.tolist() for dimension in dimensions]
    return [
        tuple(labels[axis][index] for axis, index in enumerate(position))
        for position in np.argwhere(np.asarray(ordered.values, dtype=bool)).tolist()
    ]


def read_inputs(chain: SupplyChain) -> Inputs:
    """Read the chain's arrays into numpy lookups and the network's masks into lists of entries."""
    masks = network(chain)
    tables = {name: Table(chain[name], [str(dimension) for dimension in chain[name].dims]) for name in _INPUTS}
    quotas: list[str] = []
    if "quota" in chain.data.dims and chain.data.sizes["quota"] > 0:
        quotas = [str(quota) for quota in chain.data["quota"].values]
        tables["quota_member"] = Table(chain["quota_member"], ("quota", "stage", "exporter", "importer", "element"))
        tables["quota_limit"] = Table(chain["quota_limit"], ("quota", "period"))
    periods = chain.periods
    mining_capacity = chain["capacity"].sel(stage="mining", drop=True).max("period") > 0
    return Inputs(
        countries=chain.countries,
        elements=chain.elements,
        separated=chain.separated_elements,
        steps=[int(step) for step in chain.data["step"].values],
        periods=periods,
        length=chain.period_length,
        tables=tables,
        quotas=quotas,
        miners=[country for (country,) in _entries(mining_capacity, ("country",))],
        concentrate_edges=_entries(masks.concentrate_edges, ("exporter", "importer")),
        flow_edges=_entries(masks.flow_edges, ("stage", "exporter", "importer", "element")),
        metal_plants=_entries(masks.metal_plants, ("country", "element")),
        magnet_plants=[country for (country,) in _entries(masks.magnet_plants, ("country",))],
        demand_entries=_entries(masks.demand_entries, ("country", "sector", "element", "step", "period")),
        demand_positive=_entries(chain["demand"] > 0, ("country", "sector", "element", "period")),
        substitution_entries=_entries(masks.substitution_entries, ("country", "sector", "element")),
        stock_entries=_entries(masks.stock_entries, ("stage", "country", "element")),
        pool_entries=_entries(masks.pool_entries, ("country", "element")),
        calibration_entries=_entries(masks.calibration_entries, ("country", "element")),
        previous=dict(zip(periods[1:], periods[:-1], strict=True)),
    )


def _upper(value: float) -> float | None:
    """An LpVariable upper bound: None where the input means unbounded (inf, or missing)."""
    return value if np.isfinite(value) else None


def _name(*parts: Any) -> str:
    return "_".join(str(part) for part in parts)


def add_variables(problem: pulp.LpProblem, data: Inputs) -> dict[str, VariableDict]:
    """Every variable of the model, only where its entry exists, with its simple bounds."""
    return {
        **_production_variables(problem, data),
        **_trade_variables(problem, data),
        **_demand_variables(problem, data),
        **_extra_supply_variables(problem, data),
        **_stock_variables(problem, data),
    }


def _production_variables(problem: pulp.LpProblem, data: Inputs) -> dict[str, VariableDict]:
    """Mining and magnet output (capacity as the upper bound), metal output and NdPr pool use."""
    capacity, length, periods = data.tables["capacity"], data.length, data.periods
    return {
        "Mining-production": {
            (country, period): problem.add_variable(
                _name("Mining", country, period), lowBound=0, upBound=capacity["mining", country, period] * length
            )
            for country in data.miners
            for period in periods
        },
        "Metal-production": {
            (country, element, period): problem.add_variable(_name("Metal", country, element, period), lowBound=0)
            for country, element in data.metal_plants
            for period in periods
        },
        "Magnet-production": {
            (country, period): problem.add_variable(
                _name("Magnet", country, period), lowBound=0, upBound=capacity["magnet", country, period] * length
            )
            for country in data.magnet_plants
            for period in periods
        },
        "Magnet-metal-use": {
            (country, element, period): problem.add_variable(_name("Pool", country, element, period), lowBound=0)
            for country, element in data.pool_entries
            for period in periods
        },
    }


def _trade_variables(problem: pulp.LpProblem, data: Inputs) -> dict[str, VariableDict]:
    """Concentrate and product flows on existing edges; bans and per-edge quotas are their upper bounds."""
    flow_upper, length, periods = data.tables["flow_upper"], data.length, data.periods
    return {
        "Concentrate-flow": {
            (exporter, importer, period): problem.add_variable(
                _name("Concentrate", exporter, importer, period),
                lowBound=0,
                upBound=_upper(
                    length * min(flow_upper["mining", exporter, importer, element, period] for element in data.elements)
                ),
            )
            for exporter, importer in data.concentrate_edges
            for period in periods
        },
        "Flow": {
            (stage, exporter, importer, element, period): problem.add_variable(
                _name("Flow", stage, exporter, importer, element, period),
                lowBound=0,
                upBound=_upper(flow_upper[stage, exporter, importer, element, period] * length),
            )
            for stage, exporter, importer, element in data.flow_edges
            for period in periods
        },
    }


def _demand_variables(problem: pulp.LpProblem, data: Inputs) -> dict[str, VariableDict]:
    """Demand served per step (at most the step's share of demand) and the substituted share."""
    demand, step_share = data.tables["demand"], data.tables["step_share"]
    return {
        "Served": {
            (country, sector, element, step, period): problem.add_variable(
                _name("Served", country, sector, element, step, period),
                lowBound=0,
                upBound=step_share[step] * demand[country, sector, element, period] * data.length,
            )
            for country, sector, element, step, period in data.demand_entries
        },
        "Substitution-share": {
            (country, sector, element, period): problem.add_variable(
                _name("Substitution", country, sector, element, period), lowBound=0, upBound=1
            )
            for country, sector, element in data.substitution_entries
            for period in data.periods
        },
    }


def _extra_supply_variables(problem: pulp.LpProblem, data: Inputs) -> dict[str, VariableDict]:
    """Calibration supply and recycling, each bounded by the tonnage available."""
    tables, length, periods = data.tables, data.length, data.periods
    variables = {
        "Calibration-supply": {
            (country, element, period): problem.add_variable(
                _name("Calibration", country, element, period),
                lowBound=0,
                upBound=tables["calibration_supply"][country, element] * length,
            )
            for country, element in data.calibration_entries
            for period in periods
        }
    }
    for route in ("separation", "metal"):
        available = tables[f"recycling_to_{route}"]
        variables[f"Recycling-{route}"] = {
            (country, element, period): problem.add_variable(
                _name("Recycling", route, country, element, period),
                lowBound=0,
                upBound=available[country, element, period] * length,
            )
            for country in data.countries
            for element in data.separated
            for period in periods
            if available[country, element, period] > 0
        }
    return variables


def _stock_variables(problem: pulp.LpProblem, data: Inputs) -> dict[str, VariableDict]:
    """Stock level, release (at most the release limit) and purchase (only where refill is allowed)."""
    tables, length, periods = data.tables, data.length, data.periods
    refilled = [entry for entry in data.stock_entries if tables["stock_refill"][entry] > 0]
    return {
        "Stock-level": {
            (stage, country, element, period): problem.add_variable(
                _name("Stock_level", stage, country, element, period), lowBound=0
            )
            for stage, country, element in data.stock_entries
            for period in periods
        },
        "Stock-release": {
            (stage, country, element, period): problem.add_variable(
                _name("Stock_release", stage, country, element, period),
                lowBound=0,
                upBound=_upper(tables["stock_release_limit"][stage, country, element] * length),
            )
            for stage, country, element in data.stock_entries
            for period in periods
        },
        "Stock-purchase": {
            (stage, country, element, period): problem.add_variable(
                _name("Stock_purchase", stage, country, element, period), lowBound=0
            )
            for stage, country, element in refilled
            for period in periods
        },
    }


def arrivals(flows: VariableDict, delay: dict[Key, float], previous: dict[int, int]) -> dict[Key, Terms]:
    """What arrives on each edge in each period: (1 - δ) of this period's shipment, δ of the last one's."""
    arrived: dict[Key, Terms] = {}
    for key, flow in flows.items():
        terms = [(1.0 - delay[key], flow)]
        if key[-1] in previous:
            earlier = (*key[:-1], previous[key[-1]])
            if delay[earlier] > 0:
                terms.append((delay[earlier], flows[earlier]))
        arrived[key] = terms
    return arrived


@dataclass
class Model:
    """The PuLP problem under construction, with its variables, arrivals and lookups by neighbour."""

    problem: pulp.LpProblem
    data: Inputs
    variables: dict[str, VariableDict]
    flow_arrivals: dict[Key, Terms]
    concentrate_arrivals: dict[Key, Terms]
    exporters_into: dict[Key, list[str]]
    importers_from: dict[Key, list[str]]
    miners_into: dict[str, list[str]]
    separators_from: dict[str, list[str]]
    served_by_element: dict[Key, list[pulp.LpVariable]]
    served_by_sector: dict[Key, list[pulp.LpVariable]]

    def add(self, constraint: pulp.LpConstraint, name: str) -> None:
        """Add a row to the problem, unless it has no variable in it (as an absent entry in ours)."""
        if len(constraint) > 0:
            self.problem += constraint, name

    def separation_input(self, country: str, period: int) -> Terms:
        """REO in concentrate arriving at a country's separation plants."""
        return [
            term
            for miner in self.miners_into[country]
            for term in self.concentrate_arrivals[miner, country, period]
        ]

    def market(self, stage: str, country: str, element: str, period: int) -> Terms:
        """Imports arriving minus exports leaving, plus stock released minus stock bought, at one stage."""
        flow = self.variables["Flow"]
        terms = [
            term
            for exporter in self.exporters_into.get((stage, country, element), [])
            for term in self.flow_arrivals[stage, exporter, country, element, period]
        ]
        terms += [
            (-1.0, flow[stage, country, importer, element, period])
            for importer in self.importers_from.get((stage, country, element), [])
        ]
        key = (stage, country, element, period)
        if key in self.variables["Stock-release"]:
            terms.append((1.0, self.variables["Stock-release"][key]))
        if key in self.variables["Stock-purchase"]:
            terms.append((-1.0, self.variables["Stock-purchase"][key]))
        return terms

    def optional(self, family: str, key: Key, coefficient: float = 1.0) -> Terms:
        """One term if the variable exists, else none."""
        variable = self.variables[family].get(key)
        return [] if variable is None else [(coefficient, variable)]


def _expression(terms: Iterable[tuple[float, pulp.LpVariable]]) -> pulp.LpAffineExpression:
    return pulp.lpSum(coefficient * variable for coefficient, variable in terms if coefficient != 0)


def _model(problem: pulp.LpProblem, data: Inputs, variables: dict[str, VariableDict]) -> Model:
    """Arrivals and the neighbour lookups every balance row needs."""
    tables = data.tables
    flow_delay = {key: tables["delay_share"][key] for key in variables["Flow"]}
    concentrate_delay = {
        (exporter, importer, period): max(
            tables["delay_share"]["mining", exporter, importer, element, period] for element in data.elements
        )
        for exporter, importer, period in variables["Concentrate-flow"]
    }
    exporters_into: dict[Key, list[str]] = defaultdict(list)
    importers_from: dict[Key, list[str]] = defaultdict(list)
    for stage, exporter, importer, element in data.flow_edges:
        exporters_into[stage, importer, element].append(exporter)
        importers_from[stage, exporter, element].append(importer)
    miners_into: dict[str, list[str]] = defaultdict(list)
    separators_from: dict[str, list[str]] = defaultdict(list)
    for exporter, importer in data.concentrate_edges:
        miners_into[importer].append(exporter)
        separators_from[exporter].append(importer)
    served_by_element: dict[Key, list[pulp.LpVariable]] = defaultdict(list)
    served_by_sector: dict[Key, list[pulp.LpVariable]] = defaultdict(list)
    for (country, sector, element, _step, period), served in variables["Served"].items():
        served_by_element[country, element, period].append(served)
        served_by_sector[country, sector, element, period].append(served)
    return Model(
        problem=problem,
        data=data,
        variables=variables,
        flow_arrivals=arrivals(variables["Flow"], flow_delay, data.previous),
        concentrate_arrivals=arrivals(variables["Concentrate-flow"], concentrate_delay, data.previous),
        exporters_into=exporters_into,
        importers_from=importers_from,
        miners_into=miners_into,
        separators_from=separators_from,
        served_by_element=served_by_element,
        served_by_sector=served_by_sector,
    )


def add_capacity_constraints(model: Model) -> None:
    """Separation (t REO fed) and metal (t of all metals) capacity; mining and magnets are bounds."""
    data = model.data
    capacity = data.tables["capacity"]
    metal = model.variables["Metal-production"]
    for country in data.countries:
        for period in data.periods:
            model.add(
                _expression(model.separation_input(country, period)) <= capacity["separation", country, period] * data.length,
                _name("Separation_capacity", country, period),
            )
    metal_countries = sorted({country for country, _element in data.metal_plants})
    for country in metal_countries:
        for period in data.periods:
            made = pulp.lpSum(
                metal[country, element, period] for element in data.separated if (country, element, period) in metal
            )
            model.add(made <= capacity["metal", country, period] * data.length, _name("Metal_capacity", country, period))


def add_quota_constraints(model: Model) -> None:
    """Tonnage quotas: what is shipped on the edges a control covers stays within its limit."""
    data = model.data
    if not data.quotas:
        return
    member, limit = data.tables["quota_member"], data.tables["quota_limit"]
    flow, concentrate = model.variables["Flow"], model.variables["Concentrate-flow"]
    for quota in data.quotas:
        concentrate_share = {
            (exporter, importer): max(member[quota, "mining", exporter, importer, element] for element in data.elements)
            for exporter, importer in data.concentrate_edges
        }
        for period in data.periods:
            if not np.isfinite(limit[quota, period]):
                continue
            traded = _expression(
                (member[(quota, *edge)], flow[(*edge, period)]) for edge in data.flow_edges
            )
            mined = _expression(
                (concentrate_share[edge], concentrate[(*edge, period)]) for edge in data.concentrate_edges
            )
            model.add(traded + mined <= limit[quota, period] * data.length, _name("Quota", quota, period))


def add_mining_balance(model: Model) -> None:
    """Everything mined leaves as concentrate (to domestic or foreign separation)."""
    production, concentrate = model.variables["Mining-production"], model.variables["Concentrate-flow"]
    for (country, period), mined in production.items():
        shipped = pulp.lpSum(concentrate[country, importer, period] for importer in model.separators_from[country])
        model.add(mined - shipped == 0, _name("Mining_balance", country, period))


def add_separation_balance(model: Model) -> None:
    """Oxide: joint separation output + calibration + recycling + market = metal feed + served + surplus."""
    data = model.data
    composition, factor = data.tables["composition"], data.tables["metal_factor"]
    surplus = model.variables.setdefault("Separation-surplus", {})
    for country in data.countries:
        for period in data.periods:
            for element in data.separated:
                key = (country, element, period)
                supply = [
                    (composition[miner, element] * share, flow)
                    for miner in model.miners_into[country]
                    for share, flow in model.concentrate_arrivals[miner, country, period]
                ]
                supply += model.optional("Calibration-supply", key)
                supply += model.optional("Recycling-separation", key)
                supply += model.market("separation", country, element, period)
                use = model.optional("Metal-production", key, 1.0 / factor[element])
                use += [(1.0, served) for served in model.served_by_element.get(key, [])]
                if any(coefficient != 0 for coefficient, _ in supply):
                    surplus[key] = model.problem.add_variable(_name("Surplus", *key), 0)
                    use.append((1.0, surplus[key]))
                model.add(_expression(supply) - _expression(use) == 0, _name("Separation_balance", *key))


def add_metal_balance(model: Model) -> None:
    """Metal: production + recycling + market = the fixed recipe of magnets made + NdPr pool use."""
    data = model.data
    recipe, pool = data.tables["magnet_recipe"], data.tables["magnet_pool"]
    for country in data.countries:
        for period in data.periods:
            for element in data.separated:
                key = (country, element, period)
                supply = model.optional("Metal-production", key)
                supply += model.optional("Recycling-metal", key)
                supply += model.market("metal", country, element, period)
                use = model.optional("Magnet-production", (country, period), recipe[element] * (1 - pool[element]))
                use += model.optional("Magnet-metal-use", key)
                model.add(_expression(supply) - _expression(use) == 0, _name("Metal_balance", *key))


def add_magnet_pool_constraints(model: Model) -> None:
    """The NdPr pool: its metals together give the pool's content, each at least its recipe minimum."""
    data = model.data
    recipe, pool, minimum = data.tables["magnet_recipe"], data.tables["magnet_pool"], data.tables["magnet_recipe_min"]
    pool_content = sum(recipe[element] * pool[element] for element in data.elements)
    use, magnets = model.variables["Magnet-metal-use"], model.variables["Magnet-production"]
    pool_elements: dict[str, list[str]] = defaultdict(list)
    for country, element in data.pool_entries:
        pool_elements[country].append(element)
    for country, elements in pool_elements.items():
        for period in data.periods:
            content = pulp.lpSum(use[country, element, period] for element in elements)
            model.add(content - pool_content * magnets[country, period] == 0, _name("Magnet_pool", country, period))
            for element in elements:
                if element in data.separated and minimum[element] > 0:
                    model.add(
                        use[country, element, period] - minimum[element] * magnets[country, period] >= 0,
                        _name("Magnet_recipe_lower", country, element, period),
                    )


def add_magnet_balance(model: Model) -> None:
    """Magnets: production + calibration + market = served."""
    data = model.data
    for country in data.countries:
        for period in data.periods:
            key = (country, MAGNET, period)
            supply = model.optional("Magnet-production", (country, period))
            supply += model.optional("Calibration-supply", key)
            supply += model.market("magnet", country, MAGNET, period)
            served = [(1.0, variable) for variable in model.served_by_element.get(key, [])]
            model.add(_expression(supply) - _expression(served) == 0, _name("Magnet_balance", country, period))


def add_demand_constraints(model: Model) -> None:
    """Served over all steps plus the substituted share stays within demand (the steps are bounds)."""
    data = model.data
    demand = data.tables["demand"]
    share = model.variables["Substitution-share"]
    for key in data.demand_positive:
        quantity = demand[key] * data.length
        served = pulp.lpSum(model.served_by_sector.get(key, []))
        substituted = quantity * share[key] if key in share else pulp.LpAffineExpression()
        model.add(served + substituted <= quantity, _name("Demand_total", *key))


def add_substitution_constraints(model: Model) -> None:
    """Adoption of substitutes: at most `rate` x years per period, and it never reverts."""
    data = model.data
    rate = data.tables["substitution_rate"]
    share = model.variables["Substitution-share"]
    for entry in data.substitution_entries:
        for period in data.periods:
            adoption = share[(*entry, period)] - (
                share[(*entry, data.previous[period])] if period in data.previous else 0
            )
            model.add(adoption <= rate[(*entry, period)] * data.length, _name("Substitution_rate", *entry, period))
            model.add(adoption >= 0, _name("Substitution_irreversible", *entry, period))


def add_stock_constraints(model: Model) -> None:
    """Stock carried over: level = previous level (or the initial stock) + purchases - releases."""
    data = model.data
    initial = data.tables["stock_initial"]
    level = model.variables["Stock-level"]
    for entry in data.stock_entries:
        for period in data.periods:
            key = (*entry, period)
            carried = level[(*entry, data.previous[period])] if period in data.previous else 0
            change = _expression(model.optional("Stock-purchase", key)) - _expression(model.optional("Stock-release", key))
            opening = 0.0 if period in data.previous else initial[entry]
            model.add(level[key] - carried - change == opening, _name("Stock_balance", *key))


def objective(model: Model) -> pulp.LpAffineExpression:
    """Cost of production, transport, tariffs, stocks, substitution, recycling and calibration minus value served."""
    data = model.data
    tables, variables = data.tables, model.variables
    cost, value = tables["operating_cost"], tables["willingness_to_pay"]

    def transport(stage: str, exporter: str, importer: str, element: str, period: int) -> float:
        return (
            tables["transport_cost"][stage]
            + tables["route_cost"][stage, exporter, importer]
            + tables["tariff"][stage, exporter, importer, element, period]
        )

    def concentrate_transport(exporter: str, importer: str, period: int) -> float:
        if exporter == importer:
            return 0.0
        return max(transport("mining", exporter, importer, element, period) for element in data.elements)

    def substitution(country: str, sector: str, element: str, period: int) -> float:
        lowest = min(value[country, sector, element, step] for step in data.steps)
        net_cost = tables["substitution_cost"][country, sector, element] - lowest
        return net_cost * tables["demand"][country, sector, element, period] * data.length

    recycled = [*variables["Recycling-separation"].values(), *variables["Recycling-metal"].values()]
    stock_release_cost = tables["stock_release_cost"]
    return pulp.lpSum(
        [
            pulp.lpSum(cost["mining", country] * mined for (country, _), mined in variables["Mining-production"].items()),
            pulp.lpSum(
                cost["separation", country] * fraction * flow
                for country in data.countries
                for period in data.periods
                for fraction, flow in model.separation_input(country, period)
            ),
            pulp.lpSum(cost["metal", key[0]] * made for key, made in variables["Metal-production"].items()),
            pulp.lpSum(cost["magnet", key[0]] * made for key, made in variables["Magnet-production"].items()),
            pulp.lpSum(concentrate_transport(*key) * flow for key, flow in variables["Concentrate-flow"].items()),
            pulp.lpSum(transport(*key) * flow for key, flow in variables["Flow"].items()),
            pulp.lpSum(tables["stock_holding_cost"][()] * held for held in variables["Stock-level"].values()),
            pulp.lpSum(stock_release_cost[key[:3]] * released for key, released in variables["Stock-release"].items()),
            pulp.lpSum(substitution(*key) * share for key, share in variables["Substitution-share"].items()),
            pulp.lpSum(tables["recycling_cost"][()] * recovered for recovered in recycled),
            pulp.lpSum(tables["calibration_cost"][key[1]] * supplied for key, supplied in variables["Calibration-supply"].items()),
            -pulp.lpSum(value[key[:4]] * served for key, served in variables["Served"].items()),
        ]
    )


def build_pulp(chain: SupplyChain) -> tuple[pulp.LpProblem, dict[str, VariableDict]]:
    """The welfare-maximising LP of `chain` in PuLP (minimising cost minus value), and its variables."""
    data = read_inputs(chain)
    problem = pulp.LpProblem("raremap", pulp.LpMinimize)
    variables = add_variables(problem, data)
    model = _model(problem, data, variables)
    add_capacity_constraints(model)
    add_quota_constraints(model)
    add_mining_balance(model)
    add_separation_balance(model)
    add_metal_balance(model)
    add_magnet_pool_constraints(model)
    add_magnet_balance(model)
    add_demand_constraints(model)
    add_substitution_constraints(model)
    add_stock_constraints(model)
    problem += objective(model)
    return problem, variables


def cbc() -> pulp.COIN_CMD:
    """The CBC binary bundled with PuLP 3 (what PULP_CBC_CMD runs, without its PuLP 4 deprecation warning)."""
    return pulp.COIN_CMD(path=pulp.apis.coin_api.pulp_cbc_path, msg=False)


def solve_pulp(problem: pulp.LpProblem) -> float:
    """Solve with PuLP's bundled CBC; the optimal objective (raises unless the status is Optimal)."""
    status = problem.solve(cbc())
    if pulp.LpStatus[status] != "Optimal":
        raise RuntimeError(f"PuLP/CBC did not solve the LP to optimality: status {pulp.LpStatus[status]}")
    return float(pulp.value(problem.objective))

