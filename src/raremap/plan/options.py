"""The plan's options with every number filled in, from the plan file, the dataset's tables and the plan's
SupplyChain, and where each number came from (the `provenance` table).

Goods are resolved against the importer: ``NdFeB`` is its own mix of magnet types, ``NdPr`` its mix of
Nd and Pr, both weighted by what its buyers need in the horizon's first year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.supply import annuity, by_region, parameter
from raremap.model.supply_chain import SupplyChain
from raremap.plan import assumptions
from raremap.plan.spec import DomesticBuild, Offtake, Plan, Stockpile, TechnologyPartnership
from raremap.risk.resolve import bloc_members
from raremap.vocabulary import STAGES

NDPR = ("Nd", "Pr")


def importer_need(chain: SupplyChain, importer: str) -> xr.DataArray:
    """The importer's need of each stage's goods [stage, element, period] in t per year.

    Magnets: what its buyers use; metal: the metal those magnets hold (recipes); separation: that
    metal as oxide net of the process scrap that returns to the maker, plus the oxides its buyers use
    directly; mining: the REO its separation needs.
    """
    bought = (chain["demand"].sel(country=importer) * chain["bundle"].sel(country=importer)).sum("sector")
    products, separated = chain.magnet_products, chain.separated_elements
    magnets = bought.sel(element=products)
    recipe = chain["recipe"].sel(element=products).rename(element="product", ingredient="element")
    metal = (recipe * magnets.rename(element="product")).sum("product").reindex(element=chain.elements, fill_value=0.0)
    net_of_scrap = 1 - chain["scrap_share"].sel(country=importer)  # the maker's process scrap returns as oxide
    oxide = (metal.sel(element=separated) * net_of_scrap / chain["metal_factor"].sel(element=separated)) + bought.sel(element=separated)
    zeros = xr.zeros_like(bought)
    stages = [
        zeros,
        oxide.reindex(element=chain.elements, fill_value=0.0),
        metal,
        magnets.reindex(element=chain.elements, fill_value=0.0),
    ]
    need = xr.concat(stages, dim=xr.DataArray(list(STAGES), dims="stage", name="stage"))
    return need.transpose("stage", "element", "period")


def good_mix(chain: SupplyChain, importer: str, stage: str, good: str, period: float) -> xr.DataArray:
    """Shares of the goods a named good stands for at a stage [element] (one good: share 1)."""
    need = importer_need(chain, importer).sel(stage=stage, period=period)
    if good in ("NdFeB", "SmCo") and stage == "magnet":
        members = [product for product in chain.magnet_products if product.startswith(good[:2])]
    elif good == "NdPr" and stage != "magnet":
        members = [element for element in NDPR if element in chain.separated_elements]
    elif good in chain.elements:
        wanted = chain.magnet_products if stage == "magnet" else chain.separated_elements
        if good not in wanted:
            kind = "a magnet type" if stage == "magnet" else "an element"
            raise RaremapError(f"good {good!r} is not traded at the {stage} stage; name {kind} there")
        members = [good]
    else:
        raise RaremapError(f"good {good!r} is not a good of the supply chain; name an element, a magnet type, "
                           "NdFeB, SmCo or NdPr")
    weights = need.sel(element=members)
    if float(weights.sum()) <= 0:
        weights = xr.ones_like(weights)
    shares = (weights / weights.sum()).reindex(element=chain.elements, fill_value=0.0)
    return shares


@dataclass(frozen=True)
class ResolvedOfftake:
    """An offtake or joint venture with every number filled in; `mix` splits its t/yr over goods."""

    spec: Offtake
    mix: xr.DataArray  # [element]
    reservation_usd_per_kg_year: float
    earliest_start: int
    capex_usd_per_tpa: float

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class ResolvedBuild:
    """A domestic build with every number filled in (and, once a partnership is signed, its effects)."""

    spec: DomesticBuild
    capex_usd_per_tpa: float
    lead_time_years: int
    ramp_up_years: int
    earliest_start: int
    delay_probability: float
    delay_years_max: int
    thorium_per_t: float
    partnership: TechnologyPartnership | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def signed(self, partnerships: frozenset[str]) -> ResolvedBuild:
        """The build as it is when the given partnerships are signed (shorter lead, lower capex)."""
        if self.partnership is None or self.partnership.name not in partnerships:
            return self
        return replace(self, capex_usd_per_tpa=self.capex_usd_per_tpa * (1 - self.partnership.capex_cut),
                       lead_time_years=max(self.lead_time_years - self.partnership.lead_time_cut_years, 0))


@dataclass(frozen=True)
class ResolvedStockpile:
    """A stockpile with its goods, purchase price and release price."""

    spec: Stockpile
    mix: xr.DataArray  # [element]
    price_usd_per_kg: float
    release_usd_per_kg: xr.DataArray  # [element] the importer's price above which it is released

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Options:
    """Everything the plan may commit to, resolved, with the numbers' sources."""

    offtakes: tuple[ResolvedOfftake, ...]
    builds: tuple[ResolvedBuild, ...]
    stockpiles: tuple[ResolvedStockpile, ...]
    technology: tuple[TechnologyPartnership, ...]
    need: xr.DataArray  # [stage, element, period] the importer's need, t per year
    annuity: float  # share of a capex paid each year of the horizon (plan's discount rate, the data's asset life)
    blocs: dict[str, frozenset[str]]  # bloc -> members (among the plan's blocs)
    kept_goods: dict[str, tuple[str, ...]]  # stage -> goods an export ban keeps at home there
    provenance: list[dict[str, Any]] = field(default_factory=list)


def _record(provenance: list[dict[str, Any]], item: str, value: float, source: str) -> float:
    provenance.append({"item": item, "value": float(value), "source": source})
    return float(value)


def _region_source(table: pd.DataFrame, stage: str, importer: str, name: str) -> str:
    regions = set(table.loc[table["stage"] == stage, "region"])
    region = importer if importer in regions else "WLD"
    return f"{name} ({stage}, {region} row)"


def resolve_build(build: DomesticBuild, plan: Plan, dataset: Any, chain: SupplyChain,
                  provenance: list[dict[str, Any]]) -> ResolvedBuild:
    """A domestic build with empty costs and times from the costs and lead_times tables (importer, else WLD)."""
    costs, leads = dataset["costs"], dataset["lead_times"]
    stage, name = build.stage, build.name

    def filled(given: float | None, table: pd.DataFrame, column: str, table_name: str, item: str) -> float:
        if given is not None:
            return _record(provenance, f"{name}/{item}", given, "plan file")
        value = by_region(table, column, stage, plan.importer)
        if value is None:
            raise RaremapError(f"{table_name} has no {stage} row for {plan.importer} or WLD; give {name}'s {item}")
        return _record(provenance, f"{name}/{item}", value, _region_source(table, stage, plan.importer, table_name))

    capex = filled(build.capex_usd_per_tpa, costs, "capex_usd_per_tpa", "costs.csv", "capex_usd_per_tpa")
    lead = filled(build.lead_time_years, leads, "lead_time_years", "lead_times.csv", "lead_time_years")
    ramp = filled(build.ramp_up_years, leads, "ramp_up_years", "lead_times.csv", "ramp_up_years")
    probability = build.delay_probability
    if probability is None:
        probability = _record(provenance, f"{name}/delay_probability", assumptions.DELAY_PROBABILITY[stage],
                              "assumption DELAY_PROBABILITY (docs/plan.md)")
    maximum = build.delay_years_max
    if maximum is None:
        maximum = int(_record(provenance, f"{name}/delay_years_max", assumptions.DELAY_YEARS_MAXIMUM[stage],
                              "assumption DELAY_YEARS_MAXIMUM (docs/plan.md)"))
    thorium = float(chain["thorium_per_reo"].sel(country=plan.importer)) if stage == "mining" else 0.0
    partnership = next((item for item in plan.technology if name in item.targets), None)
    return ResolvedBuild(build, capex, math.ceil(lead - 1e-9), round(ramp), build.earliest_start or plan.horizon.start,
                         float(probability), int(maximum), thorium, partnership)


def members_of(dataset: Any, blocs: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Each listed bloc's members, from the risk engine's reading of the blocs table (``bloc_members``)."""
    members: dict[str, set[str]] = {}
    for country, memberships in bloc_members(dataset, blocs).items():
        for bloc in memberships:
            members.setdefault(bloc, set()).add(country)
    return {bloc: frozenset(countries) for bloc, countries in sorted(members.items())}


def candidate_offtakes(dataset: Any, chain: SupplyChain, plan: Plan, excluded: set[str]) -> list[Offtake]:
    """Offtakes with the partners of the partnerships table that have capacity at a stage in the chain.

    A bloc agreement (QUAD, MSP, IPEF) stands for its members. The table gives partner, status and
    date; per stage with capacity the partner offers NdFeB (magnets) or NdPr (metal, oxide) up to
    OFFTAKE_SHARE_OF_PARTNER_CAPACITY of its capacity; the reservation and earliest start follow the
    status. Partners in `excluded` (the exporter whose controls the scenarios draw) are left out.
    """
    table = dataset["partnerships"]
    table = table[table["counterpart"] == plan.importer] if "counterpart" in table.columns else table
    members = members_of(dataset, tuple(sorted(set(dataset["blocs"]["bloc"].astype(str)))))
    start_period = float(plan.horizon.start)
    capacity = chain["capacity"].sel(period=start_period)
    rank = {"operating": 0, "signed": 1, "negotiating": 2}
    best: dict[str, tuple[int, int]] = {}
    for row in table.itertuples():
        status = str(row.status)
        if status not in rank:
            continue
        year = int(str(row.date)[:4])
        for partner in members.get(str(row.partner), frozenset({str(row.partner)})):
            if partner in excluded or partner == plan.importer or partner not in chain.countries:
                continue
            if partner not in best or rank[status] < best[partner][0]:
                best[partner] = (rank[status], year)
    statuses = {position: status for status, position in rank.items()}
    offtakes = []
    for partner, (position, year) in sorted(best.items()):
        status = statuses[position]
        start = max(plan.horizon.start + assumptions.OFFTAKE_START_DELAY_YEARS[status], year + 1)
        for stage, good in (("separation", "NdPr"), ("metal", "NdPr"), ("magnet", "NdFeB")):
            size = float(capacity.sel(stage=stage, country=partner))
            if stage == "separation":
                size *= float(chain["composition"].sel(country=partner, element=list(NDPR)).sum()) or 0.2
            volume = size * assumptions.OFFTAKE_SHARE_OF_PARTNER_CAPACITY
            if volume < 1.0 or start > plan.horizon.end:
                continue
            offtakes.append(Offtake(name=f"offtake-{partner}-{stage}", partner=partner, stage=stage,  # type: ignore[arg-type]
                                    good=good, maximum_t=round(volume, 0),
                                    reservation=assumptions.OFFTAKE_RESERVATION[status], earliest_start=start))
    return offtakes


def resolve_offtake(offtake: Offtake, plan: Plan, chain: SupplyChain, provenance: list[dict[str, Any]]) -> ResolvedOfftake:
    mix = good_mix(chain, plan.importer, offtake.stage, offtake.good, float(plan.horizon.start))
    price = float((mix * chain["reference_price"]).sum())
    reservation = offtake.reservation
    if reservation is None:
        reservation = _record(provenance, f"{offtake.name}/reservation", assumptions.OFFTAKE_RESERVATION["signed"],
                              "assumption OFFTAKE_RESERVATION['signed'] (docs/plan.md)")
    start = max(offtake.earliest_start or plan.horizon.start, plan.horizon.start)
    return ResolvedOfftake(offtake, mix, price * float(reservation), start, offtake.capex_usd_per_tpa)


def resolve_stockpile(stockpile: Stockpile, plan: Plan, chain: SupplyChain,
                      provenance: list[dict[str, Any]]) -> ResolvedStockpile:
    mix = good_mix(chain, plan.importer, stockpile.stage, stockpile.good, float(plan.horizon.start))
    reference = chain["reference_price"]
    price = stockpile.price_usd_per_kg
    if price is None:
        price = _record(provenance, f"{stockpile.name}/price_usd_per_kg", float((mix * reference).sum()),
                        "the goods' base-year prices in the supply chain (prices.csv)")
    multiple = stockpile.release_price_multiple
    if multiple is None:
        multiple = _record(provenance, f"{stockpile.name}/release_price_multiple",
                           assumptions.STOCK_RELEASE_PRICE_MULTIPLE, "assumption STOCK_RELEASE_PRICE_MULTIPLE")
    return ResolvedStockpile(stockpile, mix, float(price), (reference * float(multiple)).where(mix > 0, 0.0))


def kept_goods(chain: SupplyChain, stage: str) -> tuple[str, ...]:
    """The goods the importer keeps at home at a stage: its magnets, or the elements magnets hold."""
    if stage == "magnet":
        return tuple(chain.magnet_products)
    recipe = chain["recipe"].sel(element=chain.magnet_products).sum("element")
    return tuple(str(element) for element in recipe["ingredient"].values if float(recipe.sel(ingredient=element)) > 0)


def resolve_options(plan: Plan, dataset: Any, chain: SupplyChain, excluded_partners: set[str]) -> Options:
    """Every option of the plan (and, if asked, the partnerships table's candidates) with its numbers."""
    provenance: list[dict[str, Any]] = []
    specified = list(plan.offtakes)
    controlled = [item.name for item in specified if item.partner in excluded_partners]
    if controlled:
        raise RaremapError(
            f"offtakes {', '.join(controlled)} are with {', '.join(sorted(excluded_partners))}, whose export controls "
            "the plan's risk file draws: such a contract is void whenever a control is drawn (force majeure); drop them"
        )
    if plan.partners_from_table:
        named = {item.name for item in specified}
        specified += [item for item in candidate_offtakes(dataset, chain, plan, excluded_partners) if item.name not in named]
    life = parameter(dataset["parameters"], "asset_life_years")
    share = _record(provenance, "annuity", annuity(plan.discount_rate, life),
                    f"plan discount_rate {plan.discount_rate} over parameters.csv asset_life_years {life:g}")
    return Options(
        offtakes=tuple(resolve_offtake(item, plan, chain, provenance) for item in specified),
        builds=tuple(resolve_build(build, plan, dataset, chain, provenance) for build in plan.domestic),
        stockpiles=tuple(resolve_stockpile(item, plan, chain, provenance) for item in plan.stockpiles),
        technology=plan.technology,
        need=importer_need(chain, plan.importer),
        annuity=share,
        blocs=members_of(dataset, plan.caps.blocs),
        kept_goods={stage: kept_goods(chain, stage) for stage in ("separation", "metal", "magnet")},
        provenance=provenance,
    )

