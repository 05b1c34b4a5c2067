"""Applying a Scenario to a SupplyChain: every shock and policy becomes a change of some arrays.

This is the one place where scenarios meet the market: the simulator, the risk engine and the planner
all call `apply_scenario`, so they decide on the same market.

Timing: a dated measure bans, caps or approves in a period when it is in force for at least half of
it; a licence delay holds shipments in proportion to the share of the period it is in force; measures
given in years act from that year on. Export controls mean what their form says per edge (exporter
-> importer) and good, against the model's own base-year flows (docs/scenarios.md has an example of
each): `ban` (nothing moves), `quota` with `quota_t` (the covered edges together move at most that
many tonnes a year) or `quota_share_of_base` (each edge and good at most that share of its base-year
flow), `licence_delay` (nothing moves until the first licences arrive, that many days after the
control starts; then trade resumes: each period carries at most the share of it that is open times
the edge's reference flow), `approval_share` (licences granted for that share of the reference flow:
what each destination would have bought, its base-year flow grown with its demand), and
`extraterritorial: true` (the control also covers exports of the same goods from every country that
bought them from the controller in the base year). Contracts on an edge a control restricts shrink to
what the control allows (force majeure).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import numpy as np
import xarray as xr

from raremap.model.demand import application
from raremap.model.periods import share_in_force
from raremap.model.supply_chain import SupplyChain
from raremap.scenario.spec import ALL, ExportControl, Scenario

GENERIC_MAGNET = "NdFeB"
"""A scenario may name magnets as NdFeB (every NdFeB grade) or SmCo (every SmCo grade)."""


def apply_scenario(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """The supply chain as the scenario changes it (the input chain is left untouched)."""
    changed = chain.replace(
        capacity=_capacity_with_changes(chain, scenario),
        demand=_demand_with_growth(chain, scenario),
        tariff=_tariffs(chain, scenario),
        willingness_to_pay=_priorities(chain, scenario),
    )
    changed = _with_export_controls(changed, scenario)
    changed = _with_stockpiles(changed, scenario)
    changed = _with_substitution(changed, scenario)
    return _with_recycling(changed, scenario)


def goods_named(chain: SupplyChain, names: Sequence[str]) -> list[str]:
    """The goods a list of names covers: elements as named, NdFeB or SmCo as every grade of the family."""
    if ALL in names:
        return chain.elements
    chosen = []
    for good in chain.elements:
        family = "SmCo" if good.startswith("Sm") and good in chain.magnet_products else GENERIC_MAGNET
        if good in names or (good in chain.magnet_products and family in names):
            chosen.append(good)
    return chosen


def pick(chain: SupplyChain, dimension: str, names: Sequence[str], excluded: Sequence[str] = ()) -> xr.DataArray:
    """A boolean selector over `dimension`: the named entries (or all), minus the excluded ones.

    A sector's name selects all its buyers (``catalysts`` selects ``catalysts/La`` and ``catalysts/Ce``).
    """
    values = [str(value) for value in chain.data[dimension].values]
    if dimension == "element":
        chosen = set(goods_named(chain, names))
    else:
        chosen = set(values) if ALL in names else set(names)
    if dimension == "sector":
        chosen |= {value for value in values if application(value) in chosen}
        excluded = [value for value in values if application(value) in set(excluded) or value in set(excluded)]
    mask = [value in chosen and value not in set(excluded) for value in values]
    return xr.DataArray(mask, coords={dimension: values}, dims=dimension)


def _periods_from(chain: SupplyChain, year: int | None) -> xr.DataArray:
    start = chain.periods[0] if year is None else year
    return chain.data["period"] >= start - 1e-9


def in_force(chain: SupplyChain, start: datetime.date, end: datetime.date | None) -> xr.DataArray:
    """The share of each period a dated measure is in force (0 to 1)."""
    return xr.DataArray(share_in_force(chain.grid, start, end), coords={"period": chain.periods}, dims="period")


def _capacity_with_changes(chain: SupplyChain, scenario: Scenario) -> xr.DataArray:
    """Capacity after additions (with linear ramp-up) and disruptions (with immediate or linear recovery)."""
    capacity = chain["capacity"].copy()
    year = np.floor(chain.data["period"] + 1e-9)
    for change in scenario.capacity_changes:
        ramp = ((year - change.online_year + 1) / (change.ramp_up_years + 1)).clip(0, 1)
        where = pick(chain, "country", [change.country]) & pick(chain, "stage", [change.stage])
        capacity = capacity + (where * ramp * change.capacity_t)
    for disruption in scenario.disruptions:
        end = disruption.start + disruption.duration_years
        lost = xr.where((year >= disruption.start) & (year < end), disruption.share_lost, 0.0)
        if disruption.recovery == "linear" and disruption.recovery_years > 0:
            recovering = ((year - end + 1) / (disruption.recovery_years + 1)).clip(0, 1)
            lost = lost + xr.where(year >= end, disruption.share_lost * (1 - recovering), 0.0)
        where = pick(chain, "country", [disruption.country]) & pick(chain, "stage", [disruption.stage])
        capacity = capacity * (1 - where * lost)
    return capacity.clip(min=0).transpose("stage", "country", "period")


def _demand_with_growth(chain: SupplyChain, scenario: Scenario) -> xr.DataArray:
    """Demand paths, with constant annual growth replacing the path where the scenario says so."""
    demand = chain["demand"].copy()
    period = chain.data["period"]
    for growth in scenario.demand.growth:
        start = float(growth.from_year or chain.periods[0])
        if start not in chain.periods:
            start = chain.periods[0]
        where = pick(chain, "country", [growth.country]) & pick(chain, "sector", [growth.sector])
        grown = demand.sel(period=start) * (1 + growth.annual_growth) ** (np.floor(period) - np.floor(start))
        demand = xr.where(where & (period >= start), grown, demand)
    return demand.transpose("country", "sector", "period")


def _edges(chain: SupplyChain, exporters: Sequence[str], destinations: Sequence[str], excluded: Sequence[str],
           stages: Sequence[str], elements: Sequence[str]) -> xr.DataArray:
    """Boolean edges (stage, exporter, importer, element) a measure covers (never an exporter to itself)."""
    edges = (
        pick(chain, "stage", stages)
        & pick(chain, "exporter", exporters)
        & pick(chain, "importer", destinations, excluded)
        & pick(chain, "element", elements)
    )
    return edges & (edges["exporter"] != edges["importer"])


def controlled_exporters(chain: SupplyChain, control: ExportControl) -> list[str]:
    """The controller, and with an extraterritorial rule every country that bought the goods from it."""
    if not control.extraterritorial:
        return [control.exporter]
    goods = goods_named(chain, control.elements)
    bought = chain["base_flow"].sel(exporter=control.exporter, element=goods).sum(["stage", "element"]) > 0
    buyers = [str(country) for country in bought["importer"].values[bought.values]]
    return [control.exporter, *buyers]


def _with_export_controls(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """Edge bounds, delays, quota groups and contracts from export controls and export bans."""
    upper, contract = chain["flow_upper"].copy(), chain["contract"].copy()
    members: list[xr.DataArray] = []
    limits: list[xr.DataArray] = []
    for control in scenario.export_controls:
        edges = _edges(chain, controlled_exporters(chain, control), control.destinations,
                       [*control.except_destinations, control.exporter], control.stages, control.elements)
        share = in_force(chain, control.start, control.end)
        if control.form == "licence_delay":
            halted = in_force(chain, control.start, control.halt_end())
            if control.end is not None:
                halted = xr.where(halted < share, halted, share)
            allowed = (1 - halted) * reference_flow(chain)
            upper = xr.where(edges & (halted > 0), np.minimum(upper, allowed), upper)
            contract = xr.where(edges & (halted > 0), np.minimum(contract, allowed), contract)
            continue
        covered = edges & (share >= 0.5)
        if control.form == "quota" and control.quota_t is not None:
            members.append(covered.any("period").astype(float))
            limits.append(xr.where(covered.any(["stage", "exporter", "importer", "element"]), float(control.quota_t), np.nan))
            contract = xr.where(covered, 0.0, contract)
            continue
        allowed = _allowed_flow(chain, control)
        upper = xr.where(covered, np.minimum(upper, allowed), upper)
        contract = xr.where(covered, np.minimum(contract, allowed), contract)
    for ban in scenario.policies.export_bans:
        covered = _edges(chain, [ban.country], [ALL], [], ban.stages, ban.elements) & (in_force(chain, ban.start, ban.end) >= 0.5)
        upper = xr.where(covered, 0.0, upper)
        contract = xr.where(covered, 0.0, contract)
    dims = ("stage", "exporter", "importer", "element", "period")
    withheld = xr.where(upper < chain["flow_upper"], np.maximum(reference_flow(chain) - upper, 0.0), 0.0) + chain["route_withheld"]
    changed = chain.replace(flow_upper=upper.transpose(*dims), contract=contract.transpose(*dims),
                            route_withheld=withheld.transpose(*dims))
    return _with_quotas(changed, members, limits)


def _allowed_flow(chain: SupplyChain, control: ExportControl) -> xr.DataArray:
    """t/yr a ban, a share of the base flow or an approval share lets through on each edge and good."""
    if control.form == "ban":
        return xr.zeros_like(chain["flow_upper"])
    if control.form == "quota":
        return (float(control.quota_share_of_base or 0.0) * chain["base_flow"]).broadcast_like(chain["flow_upper"])
    return float(control.approval_share or 0.0) * reference_flow(chain)


def reference_flow(chain: SupplyChain) -> xr.DataArray:
    """What each edge would carry without the measure: its base-year flow grown with the destination's demand."""
    demand = chain["demand"].sum("sector")
    growth = (demand / demand.isel(period=0).where(demand.isel(period=0) > 0)).fillna(1.0).rename(country="importer")
    return (chain["base_flow"] * growth).broadcast_like(chain["flow_upper"])


def _with_quotas(chain: SupplyChain, members: list[xr.DataArray], limits: list[xr.DataArray]) -> SupplyChain:
    if not members:
        return chain
    names = [f"quota-{index}" for index in range(len(members))]
    member = xr.concat(members, dim=xr.DataArray(names, dims="quota", name="quota"))
    limit = xr.concat(limits, dim=xr.DataArray(names, dims="quota", name="quota"))
    data = chain.data.assign(
        quota_member=member.transpose("quota", "stage", "exporter", "importer", "element"),
        quota_limit=limit.transpose("quota", "period"),
    )
    return SupplyChain(data)


def _tariffs(chain: SupplyChain, scenario: Scenario) -> xr.DataArray:
    tariff = chain["tariff"].copy()
    for item in scenario.policies.tariffs:
        covered = (
            pick(chain, "stage", item.stages)
            & pick(chain, "exporter", item.exporters, [item.importer])
            & pick(chain, "importer", [item.importer])
            & pick(chain, "element", item.elements)
            & _periods_from(chain, item.start)
        )
        tariff = tariff + covered * item.usd_per_kg
    return tariff.transpose("stage", "exporter", "importer", "element", "period")


def _priorities(chain: SupplyChain, scenario: Scenario) -> xr.DataArray:
    """Willingness to pay raised for prioritised sectors and for countries that serve themselves first."""
    value = chain["willingness_to_pay"].copy()
    for priority in scenario.sector_priorities:
        where = pick(chain, "country", [priority.country]) & pick(chain, "sector", [priority.sector])
        value = value * xr.where(where, priority.weight, 1.0)
    for domestic in scenario.policies.domestic_priority:
        value = value * xr.where(pick(chain, "country", [domestic.country]), domestic.weight, 1.0)
    return value.transpose("country", "sector", "step")


def _with_stockpiles(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """Stocks held by a country for its own buyers: exported only where the scenario allows it."""
    if not scenario.stockpiles:
        return chain
    initial, cost = chain["stock_initial"].copy(), chain["stock_release_cost"].copy()
    limit, refill = chain["stock_release_limit"].copy(), chain["stock_refill"].copy()
    exportable = chain["reexport_allowed"].copy()
    for stockpile in scenario.stockpiles:
        goods = goods_named(chain, [stockpile.element])[:1]  # a stock of "NdFeB" is held as one grade
        where = pick(chain, "stage", [stockpile.stage]) & pick(chain, "country", [stockpile.holder]) & pick(chain, "element", goods)
        where = where & xr.DataArray([good in goods for good in chain.elements], coords={"element": chain.elements}, dims="element")
        initial = initial + where * stockpile.size_t
        cost = xr.where(where, stockpile.release.price_threshold_usd_per_kg, cost)
        limit = xr.where(where, stockpile.release.max_release_share_per_year * stockpile.size_t, limit)
        refill = xr.where(where, float(stockpile.refill), refill)
        if stockpile.allow_export:
            exportable = xr.where(where, 1.0, exportable)
    return chain.replace(stock_initial=initial, stock_release_cost=cost, stock_release_limit=limit, stock_refill=refill,
                         reexport_allowed=exportable.transpose("stage", "country", "element", "period"))


def _with_substitution(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    if not scenario.substitution:
        return chain
    rate, cost = chain["substitution_rate"].copy(), chain["substitution_cost"].copy()
    for item in scenario.substitution:
        where = pick(chain, "country", [item.country]) & pick(chain, "sector", [item.sector])
        rate = xr.where(where & _periods_from(chain, item.start), item.rate_per_year, rate)
        if item.cost_usd_per_kg is not None:
            cost = xr.where(where, item.cost_usd_per_kg, cost)
    return chain.replace(substitution_rate=rate.transpose("country", "sector", "period"), substitution_cost=cost)


def _with_recycling(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """Metal recovered from magnets retired `lifetime` years after they were bought (demand then).

    The metal recovered enters the oxide market of the recycling country as oxide (as the chain's own
    tiers do), counted and priced in t of metal it holds. Each item is a price tier of its
    own at its cost, after the chain's tiers, so items with different costs never share one.
    """
    if not scenario.recycling:
        return chain
    first = chain.periods[0]
    recipe = chain["recipe"].rename(element="product", ingredient="element")
    available, cost = [chain["recycling_available"]], [chain["recycling_cost"]]
    for tier, item in enumerate(scenario.recycling, start=chain.data.sizes["tier"]):
        bought = [max(period - item.lifetime_years, first) for period in chain.periods]
        where = pick(chain, "country", [item.country]) & pick(chain, "sector", [item.sector])
        magnets = (chain["demand"] * chain["bundle"] * where).sel(element=chain.magnet_products).rename(element="product")
        retired = magnets.sel(period=bought, method="ffill").assign_coords(period=chain.periods).sum("sector")
        metal = (retired * recipe).sum("product") * item.collection_rate * item.recovery_rate
        available.append(metal.reindex(element=chain.elements, fill_value=0.0).expand_dims(tier=[tier]))
        cost.append(xr.DataArray([item.cost_usd_per_kg], coords={"tier": [tier]}, dims="tier"))
    return chain.with_recycling_tiers(xr.concat(available, dim="tier", join="outer", fill_value=0.0),
                                      xr.concat(cost, dim="tier"))
