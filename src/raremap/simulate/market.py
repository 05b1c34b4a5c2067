"""The market a scenario runs on: one function that every engine (simulate, risk, plan) calls.

`scenario_market` takes the dataset's supply chain and returns it as the scenario changes it:

1. Investment without hindsight: a shock (an export control, a disruption, an export ban) is not
   known when the world decides what to build. So when a scenario has shocks, its unshocked twin
   (the same scenario without them) is solved first and the capacity that twin builds is fixed; the
   shocked run may not build more (unless `settings.investment_response`, in which case it may from
   the first shock's start plus each stage's lead time). Its cost counts in both runs' welfare.
2. The scenario's changes (`apply.apply_scenario`): capacity, demand, controls, contracts, tariffs,
   priorities, stockpiles, substitution, recycling.
3. Stockpiles released by a shortfall rule: the holder's shortfall without the release decides when
   the stock is drawn (a rule an LP cannot express directly), then the release is fixed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from raremap.model.equilibrium import build_model
from raremap.model.quiet import quiet_stdout
from raremap.model.solution import read_solution, solve_model
from raremap.model.supply_chain import SupplyChain
from raremap.scenario.spec import ALL, ExportBan, Scenario
from raremap.simulate.apply import apply_scenario

_PLANS: dict[tuple[int, str], tuple[SupplyChain, xr.DataArray]] = {}
"""Investment of unshocked twins, by chain identity and twin; the chain is kept so its id stays its own."""


def standing(ban: ExportBan, scenario: Scenario) -> bool:
    """A ban of every element in force since the base year or before, with no end: part of the world as
    it is (India's monazite), not a shock; the base-year solve applies it too."""
    return ban.start.year <= scenario.periods.start and ALL in ban.elements and ban.end is None


def has_shocks(scenario: Scenario) -> bool:
    """Whether the scenario changes the world in a way nobody planned for."""
    bans = [ban for ban in scenario.policies.export_bans if not standing(ban, scenario)]
    return bool(scenario.export_controls or scenario.disruptions or bans)


def without_shocks(scenario: Scenario) -> Scenario:
    """The scenario's unshocked twin: everything else (levers, demand, settings, standing bans) kept."""
    policies = scenario.policies.model_copy(update={"export_bans": tuple(
        ban for ban in scenario.policies.export_bans if standing(ban, scenario))})
    return scenario.model_copy(update={"export_controls": (), "disruptions": (), "policies": policies})


def solve_chain(chain: SupplyChain) -> Any:
    """Solve a chain (with its run-out period where periods link) and return the solution."""
    model_chain = chain.with_run_out() if chain.links_periods else chain
    model = build_model(model_chain)
    with quiet_stdout():
        solve_model(model)
    return read_solution(model).for_periods(chain.periods, float("nan"))


def planned_investment(chain: SupplyChain, scenario: Scenario) -> xr.DataArray:
    """New capacity (t/yr per stage x country x period) the unshocked twin of `scenario` builds."""
    twin = without_shocks(scenario)
    key = (id(chain), twin.model_dump_json())
    if key not in _PLANS:
        solution = solve_chain(apply_scenario(chain, twin))
        _PLANS[key] = (chain, solution.values["New-capacity"].transpose("stage", "country", "period"))
    return _PLANS[key][1]


def with_planned_investment(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """The chain with the twin's investment fixed (its cost still counts), and with the setting
    `investment_response` room to build more from the first shock's start plus each stage's lead time."""
    planned = planned_investment(chain, scenario).reindex_like(chain["investment_committed"]).fillna(0.0)
    ceiling = planned.copy()
    if scenario.settings.investment_response:
        opens = min(_shock_starts(scenario)) + chain["investment_lead_years"]
        ceiling = xr.where(chain.data["period"] >= opens - 1e-9, chain["investment_ceiling"], planned)
    return chain.replace(investment_committed=planned, investment_ceiling=ceiling.transpose("stage", "country", "period"))


def _shock_starts(scenario: Scenario) -> list[float]:
    dates = [control.start for control in scenario.export_controls] + [ban.start for ban in scenario.policies.export_bans]
    years = [date.year + (date.timetuple().tm_yday - 1) / 365.0 for date in dates]
    return years + [float(disruption.start) for disruption in scenario.disruptions]


def with_release_schedule(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """Stocks released by a shortfall rule: drawn, up to their rate, where the holder would otherwise be
    short by more than the rule's share of its demand."""
    rules = [stock for stock in scenario.stockpiles if stock.release.when_short_share is not None]
    if not rules:
        return chain
    unreleased = chain.replace(stock_release_cost=xr.where(chain["stock_initial"] > 0, 1e6, chain["stock_release_cost"]))
    solution = solve_chain(unreleased)
    demand = chain["demand"] * chain.years
    short = (demand - solution.values["Served"].sum("step")).clip(min=0.0)
    schedule = chain["stock_release_schedule"].copy()
    scheduled = chain["stock_scheduled"].copy()
    for stock in rules:
        schedule = _schedule(chain, stock, short, demand, schedule)
        held = (scheduled["stage"] == stock.stage) & (scheduled["country"] == stock.holder) & (chain["stock_initial"] > 0)
        scheduled = xr.where(held, 1.0, scheduled)  # the rule alone releases it
    return chain.replace(stock_release_schedule=schedule.transpose("stage", "country", "element", "period"),
                         stock_scheduled=scheduled.transpose("stage", "country", "element"))


def _schedule(chain: SupplyChain, stock: Any, short: xr.DataArray, demand: xr.DataArray, schedule: xr.DataArray) -> xr.DataArray:
    """One stock's release per period: the holder's shortfall of the stocked good beyond the rule's share.

    A magnet stock serves the holder's unserved magnets of its grade; an oxide or metal stock the
    rare-earth content of everything the holder is short of (t REO, as t metal at the metal stage).
    """
    from raremap.simulate.apply import goods_named

    good = goods_named(chain, [stock.element])[0]
    holder = stock.holder
    beyond = (short - stock.release.when_short_share * demand).clip(min=0.0).sel(country=holder)
    goods = (beyond * chain["bundle"].sel(country=holder)).sum("sector")
    if stock.stage == "magnet":
        excess = goods.sel(element=good)
    else:
        excess = chain.content(goods).sel(element=good)
        if stock.stage == "metal":
            excess = excess * float(chain["metal_factor"].sel(element=good))
    remaining = float(stock.size_t)
    rate = stock.release.max_release_share_per_year * float(stock.size_t)
    released = []
    for period, years in zip(chain.periods, chain.years.values, strict=True):
        amount = max(min(remaining, float(excess.sel(period=period)), rate * float(years)), 0.0)
        released.append(amount)
        remaining -= amount
    where = (schedule["stage"] == stock.stage) & (schedule["country"] == holder) & (schedule["element"] == good)
    values = xr.DataArray(released, coords={"period": chain.periods}, dims="period")
    return xr.where(where, schedule + values, schedule)


def scenario_market(chain: SupplyChain, scenario: Scenario) -> SupplyChain:
    """The supply chain the scenario runs on (see the module docstring for the three steps)."""
    if scenario.settings.investment and has_shocks(scenario) and bool(np.isfinite(chain["investment_lead_years"]).any()):
        chain = with_planned_investment(chain, scenario)
    return with_release_schedule(apply_scenario(chain, scenario), scenario)
