"""Applying a Scenario to a SupplyChain: every shock and policy becomes a change of some arrays.

Timing rule: a measure with dates acts in a period when it is in force for at least half of that
period (export controls, bans); measures given in years act from that year on.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import numpy as np
import xarray as xr

from raremap.model.supply_chain import MAGNET, SupplyChain
from raremap.scenario.spec import ALL, ExportControl, Scenario

DAYS_PER_YEAR = 365.0


def apply_scenario(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """The supply chain as the scenario changes it (the input chain is left untouched)."""
    capacity = _capacity_with_changes(chain, scenario)
    demand = _demand_with_growth(chain, scenario)
    flow_upper, delay_share, quota_member, quota_limit = _export_controls(chain, scenario)
    changed = chain.replace(
        capacity=capacity,
        demand=demand,
        flow_upper=flow_upper,
        delay_share=delay_share,
        tariff=_tariffs(chain, scenario),
        willingness_to_pay=_priorities(chain, scenario),
    )
    changed = _with_quotas(changed, quota_member, quota_limit)
    changed = _with_stockpiles(changed, scenario)
    changed = _with_substitution(changed, scenario)
    return _with_recycling(changed, scenario)


def _pick(chain: SupplyChain, dimension: str, names: Sequence[str], excluded: Sequence[str] = ()) -> xr.DataArray:
    """A boolean selector over `dimension`: the named entries (or all), minus the excluded ones."""
    values = [str(value) for value in chain.data[dimension].values]
    chosen = set(values) if ALL in names else set(names)
    mask = [value in chosen and value not in set(excluded) for value in values]
    return xr.DataArray(mask, coords={dimension: values}, dims=dimension)


def _periods_from(chain: SupplyChain, year: int | None) -> xr.DataArray:
    start = chain.periods[0] if year is None else year
    return chain.data["period"] >= start


def _capacity_with_changes(chain: SupplyChain, scenario: Scenario) -> xr.DataArray:
    """Capacity after additions (with linear ramp-up) and disruptions (with immediate or linear recovery)."""
    capacity = chain["capacity"].copy()
    period = chain.data["period"]
    for change in scenario.capacity_changes:
        ramp = ((period - change.online_year + 1) / (change.ramp_up_years + 1)).clip(0, 1)
        where = _pick(chain, "country", [change.country]) & _pick(chain, "stage", [change.stage])
        capacity = capacity + (where * ramp * change.capacity_t)
    for disruption in scenario.disruptions:
        end = disruption.start + disruption.duration_years
        lost = xr.where((period >= disruption.start) & (period < end), disruption.share_lost, 0.0)
        if disruption.recovery == "linear" and disruption.recovery_years > 0:
            recovering = ((period - end + 1) / (disruption.recovery_years + 1)).clip(0, 1)
            lost = lost + xr.where(period >= end, disruption.share_lost * (1 - recovering), 0.0)
        where = _pick(chain, "country", [disruption.country]) & _pick(chain, "stage", [disruption.stage])
        capacity = capacity * (1 - where * lost)
    return capacity.clip(min=0).transpose("stage", "country", "period")


def _demand_with_growth(chain: SupplyChain, scenario: Scenario) -> xr.DataArray:
    """Demand paths, with constant annual growth replacing the path where the scenario says so."""
    demand = chain["demand"].copy()
    period = chain.data["period"]
    for growth in scenario.demand.growth:
        start = growth.from_year or chain.periods[0]
        if start not in chain.periods:
            start = chain.periods[0]
        where = _pick(chain, "country", [growth.country]) & _pick(chain, "sector", [growth.sector])
        grown = demand.sel(period=start) * (1 + growth.annual_growth) ** (period - start)
        demand = xr.where(where & (period >= start), grown, demand)
    return demand.transpose("country", "sector", "element", "period")


def share_in_force(chain: SupplyChain, start: datetime.date, end: datetime.date | None) -> xr.DataArray:
    """Per period, whether a dated measure is in force for at least half of it."""
    length = chain.period_length
    shares = []
    for period in chain.periods:
        first = datetime.date(period, 1, 1)
        last = datetime.date(period + length, 1, 1)
        stop = min(last, end) if end is not None else last
        begin = max(first, start)
        shares.append(max((stop - begin).days, 0) / (last - first).days)
    return xr.DataArray(np.array(shares) >= 0.5, coords={"period": chain.periods}, dims="period")


def _edges(chain: SupplyChain, exporter: str, destinations: Sequence[str], excluded: Sequence[str],
           stages: Sequence[str], elements: Sequence[str]) -> xr.DataArray:
    """Boolean edges (stage, exporter, importer, element) a measure covers."""
    return (
        _pick(chain, "stage", stages)
        & _pick(chain, "exporter", [exporter])
        & _pick(chain, "importer", destinations, [*excluded, exporter])
        & _pick(chain, "element", elements)
    )


def _export_controls(chain: SupplyChain, scenario: Scenario) -> tuple[xr.DataArray, xr.DataArray, list[xr.DataArray], list[xr.DataArray]]:
    """Edge upper bounds, delay shares and tonnage quota groups from export controls and export bans."""
    upper = chain["flow_upper"].copy()
    delay = chain["delay_share"].copy()
    members: list[xr.DataArray] = []
    limits: list[xr.DataArray] = []
    for control in scenario.export_controls:
        covered = _edges(chain, control.exporter, control.destinations, control.except_destinations,
                         control.stages, control.elements) & share_in_force(chain, control.start, control.end)
        upper, delay = _apply_control(chain, control, covered, upper, delay, members, limits)
    for ban in scenario.policies.export_bans:
        covered = _edges(chain, ban.country, [ALL], [], ban.stages, ban.elements) & share_in_force(chain, ban.start, ban.end)
        upper = xr.where(covered, 0.0, upper)
    dims = ("stage", "exporter", "importer", "element", "period")
    return upper.transpose(*dims), delay.transpose(*dims), members, limits


def _apply_control(chain: SupplyChain, control: ExportControl, covered: xr.DataArray, upper: xr.DataArray,
                   delay: xr.DataArray, members: list[xr.DataArray], limits: list[xr.DataArray]) -> tuple[xr.DataArray, xr.DataArray]:
    if control.form == "ban":
        return xr.where(covered, 0.0, upper), delay
    if control.form == "licence_delay":
        held = min(control.held_days() / (DAYS_PER_YEAR * chain.period_length), 1.0)
        return upper, xr.where(covered, np.maximum(delay, held), delay)
    if control.quota_share_of_base is not None:
        bound = control.quota_share_of_base * chain["base_flow"]
        return xr.where(covered, np.minimum(upper, bound), upper), delay
    members.append(covered.any("period").astype(float))
    limits.append(xr.where(covered.any(["stage", "exporter", "importer", "element"]), float(control.quota_t or 0.0), np.nan))
    return upper, delay


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
            _pick(chain, "stage", item.stages)
            & _pick(chain, "exporter", item.exporters, [item.importer])
            & _pick(chain, "importer", [item.importer])
            & _pick(chain, "element", item.elements)
            & _periods_from(chain, item.start)
        )
        tariff = tariff + covered * item.usd_per_kg
    return tariff.transpose("stage", "exporter", "importer", "element", "period")


def _priorities(chain: SupplyChain, scenario: Scenario) -> xr.DataArray:
    """Willingness to pay raised for prioritised sectors and for countries that serve themselves first."""
    value = chain["willingness_to_pay"].copy()
    for priority in scenario.sector_priorities:
        where = _pick(chain, "country", [priority.country]) & _pick(chain, "sector", [priority.sector])
        value = value * xr.where(where, priority.weight, 1.0)
    for domestic in scenario.policies.domestic_priority:
        value = value * xr.where(_pick(chain, "country", [domestic.country]), domestic.weight, 1.0)
    return value.transpose("country", "sector", "element", "step")


def _with_stockpiles(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    if not scenario.stockpiles:
        return chain
    initial = chain["stock_initial"].copy()
    cost = chain["stock_release_cost"].copy()
    limit = chain["stock_release_limit"].copy()
    refill = chain["stock_refill"].copy()
    for stockpile in scenario.stockpiles:
        where = (
            _pick(chain, "stage", [stockpile.stage])
            & _pick(chain, "country", [stockpile.holder])
            & _pick(chain, "element", [stockpile.element])
        )
        initial = initial + where * stockpile.size_t
        cost = xr.where(where, stockpile.release.price_threshold_usd_per_kg, cost)
        limit = xr.where(where, stockpile.release.max_release_share_per_year * stockpile.size_t, limit)
        refill = xr.where(where, float(stockpile.refill), refill)
    return chain.replace(stock_initial=initial, stock_release_cost=cost, stock_release_limit=limit, stock_refill=refill)


def _with_substitution(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    if not scenario.substitution:
        return chain
    rate = chain["substitution_rate"].copy()
    cost = chain["substitution_cost"].copy()
    for item in scenario.substitution:
        where = (
            _pick(chain, "country", [item.country])
            & _pick(chain, "sector", [item.sector])
            & _pick(chain, "element", [item.element])
        )
        rate = xr.where(where & _periods_from(chain, item.start), item.rate_per_year, rate)
        cost = xr.where(where, item.cost_usd_per_kg, cost)
    return chain.replace(substitution_rate=rate, substitution_cost=cost)


def _with_recycling(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """Recovered metal from magnets retired `lifetime` years after they were bought (demand then)."""
    if not scenario.recycling:
        return chain
    routes = {"separation": chain["recycling_to_separation"].copy(), "metal": chain["recycling_to_metal"].copy()}
    demand = chain["demand"].sel(element=MAGNET, drop=True)
    first = chain.periods[0]
    for item in scenario.recycling:
        bought = [max(period - item.lifetime_years, first) for period in chain.periods]
        # A purchase year inside a multi-year period takes that period's demand (the label at or before it).
        retired = demand.sel(period=bought, method="ffill").assign_coords(period=chain.periods)
        where = _pick(chain, "country", [item.country]) & _pick(chain, "sector", [item.sector])
        magnets = (retired * where).sum("sector") * item.collection_rate * item.recovery_rate
        recovered = magnets * chain["magnet_recipe"]
        if item.route == "separation":
            recovered = recovered / chain["metal_factor"]
        routes[item.route] = routes[item.route] + recovered
    return chain.replace(
        recycling_to_separation=routes["separation"].transpose("country", "element", "period"),
        recycling_to_metal=routes["metal"].transpose("country", "element", "period"),
    )
