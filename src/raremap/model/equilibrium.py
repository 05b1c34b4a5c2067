"""The spatial partial equilibrium as one linopy linear program over all periods.

Along the chain: mines offer rare-earth oxide (REO) in concentrate with their country's element
composition; concentrate moves to separating countries; separation yields every element of its feed
jointly (co-production; what nobody buys is surplus); metal plants turn oxide into metal; magnet
plants turn metal into magnet products by their recipes; each country x sector buys a bundle of goods
against its own stepwise demand curve. Capacity grows by the data's pipeline and by investment the
LP chooses (after a lead time, within ramp limits). Trade is sticky: contracts hold a share of the
base-year flows, and an importer's purchases from routes beyond their base-year flow grow only at a
bounded rate; nobody re-exports what they did not make. Maximising welfare (minimising cost minus the
value served) gives flows; the duals of the balance constraints are prices; unserved demand is
shortfall.

Every variable and constraint is added once, vectorised over its named dimensions, with ``mask=``
marking the entries that exist. Names read as English: ``Metal-capacity-upper``,
``Separation-balance``, ``Route-growth-upper``. An absent slot adds 0 to every sum (``Terms``), so
the model is the same under linopy's legacy and v1 arithmetic.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from raremap.model.rows import Plain
from raremap.model.supply_chain import SupplyChain
from raremap.vocabulary import STAGES, TRADED_STAGES

BALANCE_CONSTRAINTS = {
    "mining": "Mining-balance",
    "separation": "Separation-balance",
    "metal": "Metal-balance",
    "magnet": "Magnet-balance",
}
CAPACITY_CONSTRAINTS = {stage: f"{stage.capitalize()}-capacity-upper" for stage in STAGES}
PRODUCTION_VARIABLES = {"mining": "Mining-production", "metal": "Metal-production", "magnet": "Magnet-production"}


@dataclass(frozen=True)
class Network:
    """Which entries of each variable exist (derived from a SupplyChain)."""

    plants: xr.DataArray  # [stage, country, period]: capacity or possible investment
    investment: xr.DataArray  # [stage, country, period]: new capacity may exist
    concentrate_edges: xr.DataArray  # [exporter, importer]
    flow_edges: xr.DataArray  # [stage, exporter, importer, element]
    metals: xr.DataArray  # [country, element]
    magnets: xr.DataArray  # [country, element]
    buyers: xr.DataArray  # [country, sector, step, period]
    substitution: xr.DataArray  # [country, sector]
    stocks: xr.DataArray  # [stage, country, element]
    pool: xr.DataArray  # [country, element]
    route_growth: xr.DataArray  # [stage, exporter, importer, element]
    contracts: xr.DataArray  # [stage, exporter, importer, element, period]


def _off_diagonal(chain: SupplyChain) -> xr.DataArray:
    countries = chain.countries
    return xr.DataArray(
        ~np.eye(len(countries), dtype=bool), coords={"exporter": countries, "importer": countries}, dims=("exporter", "importer")
    )


def investment_mask(chain: SupplyChain) -> xr.DataArray:
    """Where new capacity may exist: from the base year's start plus the lead time on."""
    start = chain.periods[0]
    ready = (chain.data["period"] >= start + chain["investment_lead_years"] - 1e-9) & np.isfinite(chain["investment_lead_years"])
    return (ready | (chain["investment_committed"] > 0)).transpose("stage", "country", "period")


def oxide_holders(chain: SupplyChain, plant_anywhere: xr.DataArray) -> xr.DataArray:
    """Countries that hold separated oxide of their own: separation plants, and magnet plants that
    recover process scrap as oxide. Both may sell it or leave it as surplus; without that, a magnet
    maker with no separation plant could make only as many magnets as its home buys scrap oxide
    (Japan made 4.9 kt of its reported 31 kt)."""
    recovers = plant_anywhere.sel(stage="magnet", drop=True) & (chain["scrap_share"] > 0)
    return plant_anywhere.sel(stage="separation", drop=True) | recovers


def _recyclers(chain: SupplyChain) -> xr.DataArray:
    """[country, element]: end-of-life recycling offers the element in some period."""
    return chain["recycling_available"].max(["tier", "period"]) > 0


def network(chain: SupplyChain) -> Network:
    """Which entries of each variable exist: edges only from producers to users of a stage's goods."""
    invest = investment_mask(chain)
    plants = (chain["capacity"] > 0) | invest
    plant_anywhere = plants.any("period")
    exporter, importer = {"country": "exporter"}, {"country": "importer"}
    product = chain["is_product"] > 0
    separated = ~product
    recipe = chain["recipe"].sum("element").rename(ingredient="element").reindex(element=chain.elements, fill_value=0.0) > 0
    demanded = (chain["demand"].max("period") > 0) & (chain["bundle"] > 0)  # [country, sector, element]
    bought = demanded.any("sector")  # [country, element]
    stock_present = (chain["stock_initial"] > 0) | (chain["stock_refill"] > 0)
    calibrated = chain["calibration_supply"] > 0
    recycled = _recyclers(chain)
    metal_makers = plant_anywhere.sel(stage="metal", drop=True)
    magnet_makers = plant_anywhere.sel(stage="magnet", drop=True)
    metals = metal_makers & separated & recipe
    magnets = magnet_makers & product
    producers = {
        "separation": (oxide_holders(chain, plant_anywhere) | calibrated | (recycled & recipe)) & separated,
        "metal": metals,
        "magnet": magnets | (calibrated & product),
    }
    users = {
        "separation": (metal_makers & recipe & separated) | (bought & separated),
        "metal": magnet_makers & recipe & separated,
        "magnet": bought & product,
    }
    edges = []
    for stage in TRADED_STAGES:
        supplying = producers[stage] | stock_present.sel(stage=stage, drop=True)
        edges.append(supplying.rename(exporter) & users[stage].rename(importer))
    flow_edges = xr.concat(edges, dim=xr.DataArray(list(TRADED_STAGES), dims="stage", name="stage"))
    flow_edges = (flow_edges & _off_diagonal(chain)).transpose("stage", "exporter", "importer", "element")
    miners = plant_anywhere.sel(stage="mining", drop=True).rename(exporter)
    separators = plant_anywhere.sel(stage="separation", drop=True).rename(importer)
    buyers = (chain["demand"] > 0) & (chain["willingness_to_pay"] > 0) & (chain["step_share"] > 0)
    base_imports = traded_stocks(chain["base_flow"]).sum("exporter") > 0
    sticky = xr.apply_ufunc(np.isfinite, traded_stocks(chain["route_growth"]))
    growth = (sticky & base_imports) & flow_edges
    pool = magnet_makers & (chain["magnet_pool"].rename(ingredient="element") > 0).reindex(element=chain.elements, fill_value=False)
    return Network(
        plants=plants.transpose("stage", "country", "period"),
        investment=invest,
        concentrate_edges=(miners & separators & (chain["concentrate_route"] > 0)).transpose("exporter", "importer"),
        flow_edges=flow_edges,
        metals=metals.transpose("country", "element"),
        magnets=magnets.transpose("country", "element"),
        buyers=buyers.transpose("country", "sector", "step", "period"),
        substitution=(chain["substitution_rate"].max("period") > 0) & (chain["demand"].max("period") > 0),
        stocks=traded_stocks(stock_present),
        pool=pool.transpose("country", "element"),
        route_growth=growth.transpose("stage", "exporter", "importer", "element"),
        contracts=contract_edges(chain, flow_edges),
    )


def contract_edges(chain: SupplyChain, flow_edges: xr.DataArray) -> xr.DataArray:
    """Edges with a contracted volume in a period."""
    contracted: xr.DataArray = (chain["contract"] > 0).sel(stage=list(TRADED_STAGES))
    return (contracted & flow_edges).transpose("stage", "exporter", "importer", "element", "period")


def traded_stocks(array: xr.DataArray) -> xr.DataArray:
    return array.sel(stage=list(TRADED_STAGES))


def build_model(chain: SupplyChain) -> linopy.Model:
    """The welfare-maximising LP of `chain` (as a minimisation of cost minus value)."""
    model = linopy.Model(force_dim_names=True)
    masks = network(chain)
    _add_variables(model, chain, masks)
    terms = Terms(model)
    shared = shared_terms(model, chain)
    _add_capacity_constraints(model, chain, masks, shared)
    _add_investment_constraints(model, chain, masks)
    _add_trade_constraints(model, terms, chain, masks, shared)
    _add_balance_constraints(model, chain, masks, shared)
    _add_demand_constraints(model, chain, masks)
    _add_stock_constraints(model, terms, chain, masks)
    _add_recycling_constraints(model, chain)
    model.add_objective(_objective(model, chain))
    # Drop zero coefficients and rows with an infinite bound now, as the solve would: the model
    # then has the same rows whether it is solved, exported (--export-mps) or read as matrices.
    model.constraints.sanitize_zeros()
    model.constraints.sanitize_infinities()
    return model


def _index(chain: SupplyChain, dimension: str, values: Sequence[object] | None = None) -> pd.Index:
    """A coordinate as a named pandas index (what linopy wants for coords)."""
    return pd.Index(list(values) if values is not None else chain.data[dimension].values, name=dimension)


def _over_periods(mask: xr.DataArray, period: xr.DataArray) -> xr.DataArray:
    """A mask repeated over every period, with period as the last dimension."""
    return mask.broadcast_like(period).transpose(*mask.dims, "period")


def _add_variables(model: linopy.Model, chain: SupplyChain, masks: Network) -> None:
    years = chain.years
    data = {str(dimension): _index(chain, str(dimension)) for dimension in chain.data.dims}
    period = chain.data["period"]
    traded = _index(chain, "stage", TRADED_STAGES)
    separated = _index(chain, "element", chain.separated_elements)
    model.add_variables(0, coords=[data["country"], data["period"]], name="Mining-production", mask=masks.plants.sel(stage="mining", drop=True))
    flow_upper = chain["flow_upper"] * years
    model.add_variables(
        0,
        flow_upper.sel(stage="mining", drop=True).min("element"),
        coords=[data["exporter"], data["importer"], data["period"]],
        name="Concentrate-flow",
        mask=_over_periods(masks.concentrate_edges, period),
    )
    separators = oxide_holders(chain, masks.plants.any("period"))
    separated_elements = chain["composition"].sel(element=chain.separated_elements)
    holders = separators.broadcast_like(separated_elements) | _recyclers(chain).sel(element=chain.separated_elements)
    model.add_variables(
        0, coords=[data["country"], separated, data["period"]], name="Separation-surplus",
        mask=_over_periods(holders.transpose("country", "element"), period),
    )
    model.add_variables(
        0,
        flow_upper.sel(stage=list(TRADED_STAGES)),
        coords=[traded, data["exporter"], data["importer"], data["element"], data["period"]],
        name="Flow",
        mask=_over_periods(masks.flow_edges, period),
    )
    model.add_variables(0, coords=[data["country"], data["element"], data["period"]], name="Metal-production", mask=_over_periods(masks.metals, period))
    model.add_variables(0, coords=[data["country"], data["element"], data["period"]], name="Magnet-production", mask=_over_periods(masks.magnets, period))
    model.add_variables(0, coords=[data["country"], data["element"], data["period"]], name="Magnet-metal-use", mask=_over_periods(masks.pool, period))
    # Each demand step is a bound: at most its share of the period's demand is served.
    model.add_variables(
        0,
        (chain["step_share"] * chain["demand"] * years).transpose(*masks.buyers.dims),
        coords=[data["country"], data["sector"], data["step"], data["period"]],
        name="Served",
        mask=masks.buyers,
    )
    model.add_variables(0, 1, coords=[data["country"], data["sector"], data["period"]], name="Substitution-share",
                        mask=_over_periods(masks.substitution, period))
    model.add_variables(0, coords=[data["stage"], data["country"], data["period"]], name="New-capacity", mask=masks.investment)
    model.add_variables(
        0,
        (chain["recycling_available"] * years).transpose("country", "element", "tier", "period"),
        name="Recycling-supply",
        mask=chain["recycling_available"] > 0,
    )
    offered = (chain["recycling_available"] > 0).any("element").transpose("country", "tier", "period")
    model.add_variables(0, 1, coords=[data["country"], data["tier"], data["period"]], name="Recycling-share", mask=offered)
    calibration = _over_periods(chain["calibration_supply"], period) * years
    model.add_variables(0, calibration, name="Calibration-supply", mask=calibration > 0)
    edge_coordinates = [traded, data["exporter"], data["importer"], data["element"], data["period"]]
    model.add_variables(0, coords=edge_coordinates, name="Contract-breach", mask=masks.contracts)
    stock_coordinates = [traded, data["country"], data["element"], data["period"]]
    stock_mask = _over_periods(masks.stocks, period)
    model.add_variables(0, coords=stock_coordinates, name="Stock-level", mask=stock_mask)
    model.add_variables(0, coords=stock_coordinates, name="Stock-release", mask=stock_mask)
    refill_mask = stock_mask & (traded_stocks(chain["stock_refill"]) > 0)
    model.add_variables(0, coords=stock_coordinates, name="Stock-purchase", mask=refill_mask)


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


def _exists(model: linopy.Model, name: str) -> bool:
    """Whether a variable family has any entry (one without adds nothing to any sum, so is skipped)."""
    return bool((model.variables[name].labels >= 0).any())


def _previous(expression: linopy.LinearExpression) -> linopy.LinearExpression:
    """The expression one period earlier; before the first period there is nothing (0)."""
    return expression.shift(period=1).fillna(0)


def _total(terms: Sequence[linopy.LinearExpression]) -> linopy.LinearExpression:
    """The sum of several expressions over the same coordinates, concatenated in one step."""
    return linopy.merge(list(terms), cls=linopy.LinearExpression)


@dataclass(frozen=True)
class SharedTerms:
    """Sums used by several constraints, as plain arrays (`Plain`), built once per model."""

    separation_input: Plain  # REO fed to separation [country, period]
    separation_output: Plain  # oxide separated [country, element, period]
    imports: Plain  # received [stage, country, element, period]
    exports: Plain  # shipped [stage, country, element, period]
    used: Plain  # goods bought by buyers [country, element, period]
    magnet_metal: Plain  # metal used by the fixed part of recipes [country, element, period]
    scrap_oxide: Plain  # oxide recovered from the maker's process scrap [country, element, period]
    recycled_oxide: Plain  # oxide recovered from retired magnets, all tiers [country, element, period]


def shared_terms(model: linopy.Model, chain: SupplyChain) -> SharedTerms:
    """Arrivals and shipments per stage, separation feed and output, goods bought, metal in magnets.

    A dimension a sum has beyond its rows is summed over: the exporters of what a country receives,
    the importers of what it ships, the buyers' sectors and steps of what they buy.
    """
    concentrate = Plain.of(model, "Concentrate-flow").rename(importer="country")
    composition = chain["composition"].rename(country="exporter").sel(element=chain.separated_elements)
    flow = Plain.of(model, "Flow")
    products = Plain.of(model, "Magnet-production").sel(element=chain.magnet_products).rename(element="product")
    magnet_metal = products * _fixed_recipe(chain)
    return SharedTerms(
        separation_input=concentrate,
        separation_output=concentrate * composition,
        imports=flow.rename(importer="country"),
        exports=flow.rename(exporter="country"),
        used=Plain.of(model, "Served") * chain["bundle"],
        magnet_metal=magnet_metal,
        scrap_oxide=_scrap_oxide(model, chain, magnet_metal),
        recycled_oxide=_recycled_oxide(model, chain),
    )


def _scrap_oxide(model: linopy.Model, chain: SupplyChain, magnet_metal: Plain) -> Plain:
    """Oxide each country recovers from its own magnet making: scrap_share of the metal it puts in."""
    separated = chain.separated_elements
    metal_in = magnet_metal.sel(element=separated) + Plain.of(model, "Magnet-metal-use").sel(element=separated)
    return metal_in * _scrap_per_metal(chain)


def _fixed_recipe(chain: SupplyChain) -> xr.DataArray:
    """t of each separated element's metal per t of magnet product outside the NdPr pool [product, element]."""
    recipe = chain["recipe"].sel(element=chain.magnet_products) * (1 - chain["magnet_pool"])
    return recipe.rename(element="product", ingredient="element")


def _scrap_per_metal(chain: SupplyChain) -> xr.DataArray:
    """t of oxide recovered per t of metal put into magnets [country, element]."""
    return chain["scrap_share"] / chain["metal_factor"].sel(element=chain.separated_elements)


def _add_capacity_constraints(model: linopy.Model, chain: SupplyChain, masks: Network, shared: SharedTerms) -> None:
    """Output within capacity in service plus new capacity; new capacity counts from its period on."""
    years = chain.years
    capacity = chain["capacity"] * years
    new = Plain.of(model, "New-capacity") * years
    outputs = {
        "mining": Plain.of(model, "Mining-production"),
        "separation": shared.separation_input,
        "metal": Plain.of(model, "Metal-production"),  # summed over elements
        "magnet": Plain.of(model, "Magnet-production"),
    }
    # A plant's limit applies wherever its variable exists, in every period: a period in which it has
    # no capacity (yet) must bind at 0, not vanish.
    exists = masks.plants.any("period").broadcast_like(masks.plants).transpose(*masks.plants.dims)
    for stage, output in outputs.items():
        model.add_constraints(
            (output - new.sel(stage=stage, drop=True)).constraint(model, ["country", "period"], "<=", capacity.sel(stage=stage, drop=True)),
            name=CAPACITY_CONSTRAINTS[stage],
            mask=exists.sel(stage=stage, drop=True),
        )


def _add_investment_constraints(model: linopy.Model, chain: SupplyChain, masks: Network) -> None:
    """New capacity never shrinks, grows within a rate per country and, for the pooled countries, together."""
    if not _exists(model, "New-capacity"):
        return
    years = chain.years
    plants = ["stage", "country", "period"]
    new = Plain.of(model, "New-capacity")
    added = new - new.previous()
    model.add_constraints(added.constraint(model, plants, ">=", 0), name="Investment-irreversible-lower", mask=masks.investment)
    limit = chain["investment_rate_limit"] * years
    model.add_constraints(
        added.constraint(model, plants, "<=", limit.where(np.isfinite(limit), 0)),
        name="Investment-rate-upper",
        mask=masks.investment & np.isfinite(limit),
    )
    pooled = chain["investment_pooled"] > 0
    pool_limit = chain["investment_pool_limit"] * years
    model.add_constraints(
        (added * pooled).constraint(model, ["stage", "period"], "<=", pool_limit.where(np.isfinite(pool_limit), 0)),
        name="Investment-pool-upper",
        mask=np.isfinite(pool_limit) & (masks.investment & pooled).any("country"),
    )
    committed = chain["investment_committed"]
    model.add_constraints(
        new.constraint(model, plants, ">=", committed), name="Investment-committed-lower", mask=masks.investment & (committed > 0)
    )
    ceiling = chain["investment_ceiling"]
    model.add_constraints(
        new.constraint(model, plants, "<=", ceiling.where(np.isfinite(ceiling), 0)),
        name="Investment-ceiling-upper",
        mask=masks.investment & np.isfinite(ceiling),
    )


def _add_trade_constraints(
    model: linopy.Model, terms: Terms, chain: SupplyChain, masks: Network, shared: SharedTerms
) -> None:
    """Tonnage quotas, contracts, route growth, and no re-export of what a country did not make."""
    years = chain.years
    if "quota" in chain.data.dims and chain.data.sizes["quota"] > 0:
        flow = terms["Flow"]
        member = chain["quota_member"]
        covered = (flow * member.sel(stage=list(TRADED_STAGES))).sum(["stage", "exporter", "importer", "element"])
        concentrate = (terms["Concentrate-flow"] * member.sel(stage="mining", drop=True).max("element")).sum(["exporter", "importer"])
        limit = chain["quota_limit"] * years
        model.add_constraints(covered + concentrate <= limit.fillna(0), name="Flow-quota-upper", mask=limit.notnull())
    if _exists(model, "Contract-breach"):
        contract = traded_stocks(chain["contract"]) * years
        delivered = Plain.of(model, "Flow") + Plain.of(model, "Contract-breach")
        edges = ["stage", "exporter", "importer", "element", "period"]
        model.add_constraints(delivered.constraint(model, edges, ">=", contract), name="Contract-lower", mask=masks.contracts)
    if bool(masks.route_growth.any()):
        _add_route_constraints(model, chain, masks)
    # Only a country that could also import or release the good can export what it did not make; where
    # it cannot, the row would be redundant and, when all output is exported, would split the good's
    # price between itself and the market balance.
    exporting = masks.flow_edges.any("importer").rename(exporter="country")
    receiving = masks.flow_edges.any("exporter").rename(importer="country") | masks.stocks.reindex_like(exporting, fill_value=False)
    restricted = _over_periods(exporting & receiving, chain.data["period"]) & (chain["reexport_allowed"] == 0)
    for stage, (elements, own) in _own_output(model, chain, shared).items():
        exported = shared.exports.sel(stage=stage, element=elements, drop=True)
        model.add_constraints(
            (exported - own).constraint(model, ["country", "element", "period"], "<=", 0),
            name=f"{stage.capitalize()}-export-own-output-upper",
            mask=restricted.sel(stage=stage, element=elements, drop=True).transpose("country", "element", "period"),
        )


def _add_route_constraints(model: linopy.Model, chain: SupplyChain, masks: Network) -> None:
    """Sticky sourcing: a supplier's share of an importer's imports exceeds its base-year share by at
    most what the importer has been able to move since the base year (share points per year). The
    imports count what an export restriction withholds (`route_withheld`): with the endogenous total
    alone, cutting a supplier whose share exceeds what may move forced the importer's imports from
    everyone to zero (India's oxide ban emptied China's oxide imports from Malaysia too).

    Built only over the goods and importers that are sticky (linopy's arrays are dense, so the
    full edge space would cost time for nothing). `Route-imports` is the importer's total shipped to
    it, a variable defined once, so each supplier's row has three terms instead of one per supplier.
    """
    routes = masks.route_growth
    goods = [str(good) for good in routes["element"].values if bool(routes.sel(element=good).any())]
    importers = [str(country) for country in routes["importer"].values if bool(routes.sel(importer=country).any())]
    routes = routes.sel(element=goods, importer=importers)
    periods = chain.data["period"]
    flow = Plain.of(model, "Flow").sel(element=goods, importer=importers)
    base = traded_stocks(chain["base_flow"]).sel(element=goods, importer=importers)
    share = (base / base.sum("exporter").where(base.sum("exporter") > 0)).fillna(0)
    importing = _over_periods(routes.any("exporter"), periods)
    stage = _index(chain, "stage", TRADED_STAGES)
    model.add_variables(0, coords=[stage, _index(chain, "importer", importers), _index(chain, "element", goods), _index(chain, "period")],
                        name="Route-imports", mask=importing)
    model.add_variables(0, coords=[stage, _index(chain, "exporter"), _index(chain, "importer", importers), _index(chain, "element", goods),
                                   _index(chain, "period")], name="Route-new", mask=_over_periods(routes, periods))
    imports, new = Plain.of(model, "Route-imports"), Plain.of(model, "Route-new")
    totals, edges = ["stage", "importer", "element", "period"], ["stage", "exporter", "importer", "element", "period"]
    # What an export restriction keeps off a route still counts as imported: the cut supplier's share is
    # re-sourced only as fast as routes move, and the other suppliers keep their shares of the whole.
    withheld = (traded_stocks(chain["route_withheld"]).sel(element=goods, importer=importers) * routes * chain.years).sum("exporter")
    shipped = imports - flow * routes  # summed over exporters
    model.add_constraints(shipped.constraint(model, totals, "=", withheld), name="Route-imports-balance", mask=importing)
    beyond_share = flow - imports * share - new
    model.add_constraints(beyond_share.constraint(model, edges, "<=", 0), name="Route-share-upper", mask=_over_periods(routes, periods))
    movable = traded_stocks(chain["route_growth"]).sel(element=goods, importer=importers) * (periods + chain.years - chain.periods[0])
    moved = new - imports * movable.where(np.isfinite(movable), 0)  # new summed over exporters
    model.add_constraints(moved.constraint(model, totals, "<=", 0), name="Route-growth-upper", mask=importing)


def _own_output(model: linopy.Model, chain: SupplyChain, shared: SharedTerms) -> dict[str, tuple[list[str], Plain]]:
    """What each country makes itself per traded stage, by element: never what it imported or released."""
    separated, products = chain.separated_elements, chain.magnet_products
    calibration = Plain.of(model, "Calibration-supply")
    return {
        "separation": (separated, _made(shared) + calibration.sel(element=separated)),
        "metal": (separated, Plain.of(model, "Metal-production").sel(element=separated)),
        "magnet": (products, Plain.of(model, "Magnet-production").sel(element=products) + calibration.sel(element=products)),
    }


def _market_terms(model: linopy.Model, shared: SharedTerms, stage: str, elements: list[str]) -> Plain:
    """What enters a stage's market besides production: net imports, and stock released minus bought."""
    market = shared.imports - shared.exports
    stocks = Plain.of(model, "Stock-release") - Plain.of(model, "Stock-purchase")
    return (market + stocks).sel(stage=stage, element=elements, drop=True)


def _add_balance_constraints(model: linopy.Model, chain: SupplyChain, masks: Network, shared: SharedTerms) -> None:
    separated, products = chain.separated_elements, chain.magnet_products
    mined = Plain.of(model, "Mining-production") - Plain.of(model, "Concentrate-flow").rename(exporter="country")
    model.add_constraints(mined.constraint(model, ["country", "period"], "=", 0), name="Mining-balance")
    variable = functools.partial(Plain.of, model)
    separation = _made(shared) + _market_terms(model, shared, "separation", separated)
    separation -= variable("Metal-production").sel(element=separated) / chain["metal_factor"].sel(element=separated)
    separation -= shared.used.sel(element=separated) + variable("Separation-surplus")
    separation += variable("Calibration-supply").sel(element=separated)
    model.add_constraints(separation.constraint(model, ["country", "period", "element"], "=", 0), name="Separation-balance")
    _add_surplus_constraints(model, chain, shared)
    metal = variable("Metal-production").sel(element=separated) + _market_terms(model, shared, "metal", separated)
    metal -= shared.magnet_metal + variable("Magnet-metal-use").sel(element=separated)
    model.add_constraints(metal.constraint(model, ["country", "element", "period"], "=", 0), name="Metal-balance")
    magnet = variable("Magnet-production").sel(element=products) + _market_terms(model, shared, "magnet", products)
    magnet -= shared.used.sel(element=products)
    magnet += variable("Calibration-supply").sel(element=products)
    model.add_constraints(magnet.constraint(model, ["country", "element", "period"], "=", 0), name="Magnet-balance")
    _add_pool_constraints(model, chain, masks)


def _finishing(chain: SupplyChain) -> xr.DataArray:
    return chain["finishing_cost"].sel(element=chain.separated_elements)


def _recycled_oxide(model: linopy.Model, chain: SupplyChain) -> Plain:
    """End-of-life recovery as oxide (all tiers; counted in t of the metal it holds): recyclers leach and
    separate retired magnets as makers do their swarf, so it is made oxide like scrap oxide (sold
    with a co-product's finishing cost, or left unsold) and is reduced to metal again."""
    separated = chain.separated_elements
    return Plain.of(model, "Recycling-supply").sel(element=separated) / chain["metal_factor"].sel(element=separated)


def _made(shared: SharedTerms) -> Plain:
    """Oxide a country separated or recovered from its own scrap and retired magnets."""
    return shared.separation_output + shared.scrap_oxide + shared.recycled_oxide


def _add_surplus_constraints(model: linopy.Model, chain: SupplyChain, shared: SharedTerms) -> None:
    """A country leaves unsold only oxide it made: imported oxide left unsold would earn back a finishing
    cost it never paid (a buyer at that price, which does not exist)."""
    priced = (model.variables["Separation-surplus"].labels >= 0) & (_finishing(chain) > 0)
    if bool(priced.any()):
        unsold = Plain.of(model, "Separation-surplus") - _made(shared)
        model.add_constraints(unsold.constraint(model, ["country", "element", "period"], "<=", 0), name="Separation-surplus-upper",
                              mask=priced)


def _add_pool_constraints(model: linopy.Model, chain: SupplyChain, masks: Network) -> None:
    """The NdPr pool: its metal content per magnet is fixed by the recipe; Nd at least its own share."""
    if not _exists(model, "Magnet-metal-use"):
        return
    pool = chain["magnet_pool"]
    recipe = chain["recipe"].sel(element=chain.magnet_products)
    content = (recipe * pool).sum("ingredient")  # pool metal per t of each product
    products = Plain.of(model, "Magnet-production").sel(element=chain.magnet_products)
    members = [str(element) for element in pool["ingredient"].values[pool.values > 0]]
    use = Plain.of(model, "Magnet-metal-use").sel(element=members)
    periods = chain.data["period"]
    makes = masks.pool.any("element")
    pooled = use - products * content  # both summed over elements
    model.add_constraints(
        pooled.constraint(model, ["country", "period"], "=", 0),
        name="Magnet-pool-balance",
        mask=_over_periods(makes, periods),
    )
    floor = (recipe * chain["pool_floor"]).rename(element="product", ingredient="element").sel(element=members)
    beyond_floor = use - products.rename(element="product") * floor  # summed over products
    model.add_constraints(
        beyond_floor.constraint(model, ["country", "element", "period"], ">=", 0),
        name="Magnet-recipe-lower",
        mask=_over_periods(masks.pool.sel(element=members) & (floor.max("product") > 0), periods),
    )


def _add_demand_constraints(model: linopy.Model, chain: SupplyChain, masks: Network) -> None:
    """Demand net of substitution; substitution adopts at most `rate` per year and never reverts.

    The steps of the demand curve are upper bounds on `Served` (see `_add_variables`).
    """
    demand = chain["demand"] * chain.years
    served = Plain.of(model, "Served")  # summed over steps
    exists = masks.buyers.any("step")
    buyers = ["country", "sector", "period"]
    if not _exists(model, "Substitution-share"):
        model.add_constraints(served.constraint(model, buyers, "<=", demand), name="Demand-total-upper", mask=exists)
        return
    share = Plain.of(model, "Substitution-share")
    model.add_constraints((served + share * demand).constraint(model, buyers, "<=", demand), name="Demand-total-upper", mask=exists)
    rate = chain["substitution_rate"] * chain.years
    adoption = share - share.previous()
    adopting = _over_periods(masks.substitution, chain.data["period"])
    model.add_constraints(adoption.constraint(model, buyers, "<=", rate), name="Substitution-rate-upper", mask=adopting)
    model.add_constraints(adoption.constraint(model, buyers, ">=", 0), name="Substitution-irreversible-lower", mask=adopting)


def _add_stock_constraints(model: linopy.Model, terms: Terms, chain: SupplyChain, masks: Network) -> None:
    """Stock level carried over; release within a rate, or exactly as a shortfall rule schedules; a
    refillable stock is topped up to its size at most."""
    if not terms.exists("Stock-level"):
        return
    level = terms["Stock-level"]
    initial = traded_stocks(chain["stock_initial"])
    first = xr.DataArray([index == 0 for index in range(len(chain.periods))], coords={"period": chain.periods}, dims="period")
    present = _over_periods(masks.stocks, chain.data["period"])
    model.add_constraints(
        level - _previous(level) - terms["Stock-purchase"] + terms["Stock-release"] == initial.where(first, 0),
        name="Stock-balance",
        mask=present,
    )
    limit = traded_stocks(chain["stock_release_limit"]) * chain.years
    model.add_constraints(
        terms["Stock-release"] <= limit.where(np.isfinite(limit), 0),
        name="Stock-release-upper",
        mask=np.isfinite(limit) & present,
    )
    schedule = traded_stocks(chain["stock_release_schedule"])
    scheduled = present & (traded_stocks(chain["stock_scheduled"]) > 0)
    model.add_constraints(terms["Stock-release"] == schedule, name="Stock-schedule-equal", mask=scheduled)
    refill = present & (traded_stocks(chain["stock_refill"]) > 0)
    model.add_constraints(level <= initial, name="Stock-level-upper", mask=refill)


def _add_recycling_constraints(model: linopy.Model, chain: SupplyChain) -> None:
    """A recycling tier takes the same share of every element it offers: retired magnets give up all
    their rare earths at once, so a recycler cannot take a magnet's Dy and leave its Nd."""
    if not _exists(model, "Recycling-supply"):
        return
    offered = chain["recycling_available"] * chain.years
    taken = Plain.of(model, "Recycling-supply") - Plain.of(model, "Recycling-share") * offered
    model.add_constraints(
        taken.constraint(model, ["country", "period", "element", "tier"], "=", 0),  # the rows' order as ever
        name="Recycling-joint-equal",
        mask=(chain["recycling_available"] > 0).transpose("country", "element", "tier", "period"),
    )


def _objective(model: linopy.Model, chain: SupplyChain) -> linopy.LinearExpression:
    """Cost of production, investment, transport, tariffs, holding, contracts, substitution,
    recycling and finishing co-products for sale, minus the value of demand served.

    Written as (variable, coefficient) pairs on plain arrays and made one expression in one step: as
    a sum of linopy expressions it took some thirty linopy operations of milliseconds each. A variable
    in several pairs (concentrate: separation, freight, finishing) costs their sum, in this order.
    """
    cost = chain["operating_cost"]
    years = chain.years
    transport = chain["transport_cost"] + chain["route_cost"] + chain["handling_cost"] + chain["tariff"]
    freight = chain["transport_cost"] + chain["route_cost"] + chain["tariff"].max("element")
    concentrate_transport = freight.sel(stage="mining", drop=True).where(_off_diagonal(chain), 0)
    # Substituted demand is met by another material at its cost: it earns the value of the lowest
    # step it displaces, so it pays only when the price of rare earths exceeds its cost.
    substitution = chain["substitution_cost"] - chain["willingness_to_pay"].min("step")
    pairs = [
        ("Mining-production", cost.sel(stage="mining", drop=True)),
        ("Concentrate-flow", cost.sel(stage="separation", drop=True).rename(country="importer")),
        ("Metal-production", cost.sel(stage="metal", drop=True)),
        ("Magnet-production", cost.sel(stage="magnet", drop=True)),
        ("Concentrate-flow", concentrate_transport),
        ("Flow", traded_stocks(transport)),
        ("Served", -chain["willingness_to_pay"]),
        ("New-capacity", chain["investment_cost"] * years),
        ("Contract-breach", chain["contract_breach_cost"]),
        ("Stock-level", chain["stock_holding_cost"] * years),
        ("Stock-release", traded_stocks(chain["stock_release_cost"])),
        ("Substitution-share", substitution * chain["demand"] * years),
        ("Recycling-supply", chain["recycling_cost"]),
        ("Calibration-supply", chain["calibration_cost"]),
        *_finishing_pairs(chain),
    ]
    return _linear_sum(model, pairs)


def _finishing_pairs(chain: SupplyChain) -> list[tuple[str, xr.DataArray]]:
    """Finishing cost on the oxide a country sells of what it made (`_made` less its surplus): per
    element, on the concentrate it separates, the scrap its magnet making recovers (the coefficients
    multiplied as `_scrap_oxide` does, so the sums are the same to the last bit) and the oxide its
    recycling recovers."""
    finishing = _finishing(chain)
    recycled = (finishing / chain["metal_factor"].sel(element=chain.separated_elements)).reindex(element=chain.elements, fill_value=0.0)
    scrap = _scrap_per_metal(chain)
    separated = chain["composition"].rename(country="exporter").sel(element=chain.separated_elements)
    recipe = _fixed_recipe(chain).rename(element="ingredient", product="element")
    return [
        ("Concentrate-flow", (finishing * separated).rename(element="ingredient")),
        ("Magnet-production", finishing.rename(element="ingredient") * (recipe * scrap.rename(element="ingredient"))),
        ("Magnet-metal-use", finishing * scrap),
        ("Recycling-supply", recycled),
        ("Separation-surplus", -finishing),
    ]


def _linear_sum(model: linopy.Model, pairs: Sequence[tuple[str, xr.DataArray]]) -> linopy.LinearExpression:
    """The sum over every entry of each variable times its coefficient (broadcast over the variable's
    coordinates; a dimension the variable lacks repeats it), as one expression."""
    labels, coefficients = [], []
    for name, coefficient in pairs:
        variable, aligned = xr.align(model.variables[name].labels, coefficient, join="left")
        variable, aligned = xr.broadcast(variable, aligned)
        present = variable.values.ravel()
        kept = present >= 0  # absent entries add nothing: left out now rather than carried to the solve
        labels.append(present[kept])
        coefficients.append(aligned.transpose(*variable.dims).values.ravel()[kept])
    terms = xr.Dataset({"coeffs": ("_term", np.concatenate(coefficients)), "vars": ("_term", np.concatenate(labels))})
    return linopy.LinearExpression(terms, model)
